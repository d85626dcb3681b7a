"""The pantry in admin: ingredients and their ledger, recipes inline with items and options."""

from __future__ import annotations

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from menu.pantry.models import Ingredient, OptionRecipeLine, RecipeLine, StockMovement


class RecipeLineInline(admin.TabularInline):
    model = RecipeLine
    extra = 1
    autocomplete_fields = ("ingredient",)
    fields = ("ingredient", "quantity")
    verbose_name = "ingredient in one portion"
    verbose_name_plural = "recipe (one portion)"


class OptionRecipeLineInline(admin.TabularInline):
    model = OptionRecipeLine
    extra = 1
    autocomplete_fields = ("ingredient",)
    fields = ("ingredient", "effect", "quantity")
    verbose_name_plural = "recipe change when chosen (one portion)"


@admin.register(Ingredient)
class IngredientAdmin(admin.ModelAdmin):
    list_display = ("name", "unit", "on_hand", "reserved", "available", "reorder_point", "par_level")
    search_fields = ("name",)
    list_filter = ("unit",)
    # Levels move only by stock movements (deliveries, waste, counts, orders), never by typing.
    readonly_fields = ("on_hand", "reserved", "available", "updated_at")
    fields = ("name", "unit", "par_level", "reorder_point", "on_hand", "reserved", "available", "updated_at")

    @admin.display(description="available")
    def available(self, ingredient: Ingredient) -> str:
        return str(ingredient.available)


@admin.register(StockMovement)
class StockMovementAdmin(admin.ModelAdmin):
    list_display = (
        "created_at",
        "ingredient",
        "kind",
        "on_hand_change",
        "reserved_change",
        "order_id",
        "actor_label",
        "reason",
    )
    list_filter = ("kind", "ingredient")
    search_fields = ("ingredient__name", "reason", "actor_label", "=order_id")
    list_select_related = ("ingredient",)
    date_hierarchy = "created_at"

    def get_queryset(self, request: HttpRequest) -> QuerySet[StockMovement]:
        return super().get_queryset(request).select_related("ingredient")

    # The ledger is history: written by the pantry's services only.
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False
