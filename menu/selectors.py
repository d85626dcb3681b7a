"""Reads of the menu for customers."""

from __future__ import annotations

from django.db.models import Prefetch

from menu.models import Category, MenuItem, MenuItemModifierGroup, ModifierOption


def menu_categories() -> list[Category]:
    """Active categories with their listed items; sold-out items included, marked by the template."""
    items = (
        MenuItem.objects.on_menu()
        .prefetch_related("allergens", "dietary_tags")
        .order_by("sort_order", "name")
    )
    categories = Category.objects.filter(is_active=True).prefetch_related(
        Prefetch("items", queryset=items, to_attr="menu_items")
    )
    return [category for category in categories if category.menu_items]


def menu_item_detail(*, slug: str) -> MenuItem | None:
    return (
        MenuItem.objects.on_menu()
        .filter(slug=slug)
        .select_related("category")
        .prefetch_related(
            "allergens",
            "dietary_tags",
            Prefetch(
                "item_groups",
                queryset=MenuItemModifierGroup.objects.select_related("group").prefetch_related(
                    Prefetch("group__options", queryset=ModifierOption.objects.order_by("sort_order", "id"))
                ),
            ),
        )
        .first()
    )
