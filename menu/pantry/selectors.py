"""Reads of the pantry: what a set of portions takes, what can still be made, what an order holds."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import F, Q, Sum

from menu.models import MenuItem, ModifierOption
from menu.pantry.models import (
    MovementKind,
    OptionEffect,
    OptionRecipeLine,
    RecipeLine,
    StockMovement,
)

ZERO = Decimal(0)


@dataclass(frozen=True)
class Portion:
    """`quantity` portions of one item with the options chosen for it (one order line)."""

    item_id: int
    quantity: int
    option_ids: tuple[int, ...] = ()
    name: str = ""


@dataclass
class Need:
    """How much of one ingredient some portions take, and the lines that take it."""

    quantity: Decimal = ZERO
    names: list[str] = field(default_factory=list)


def recipe_needs(*, portions: Sequence[Portion]) -> dict[int, Need]:
    """What the portions take, per ingredient id (2 queries). Items without a recipe take nothing.

    An option that removes an ingredient takes it off that portion's recipe,
    never below none; one that adds takes more.
    """
    item_ids = {portion.item_id for portion in portions}
    option_ids = {option_id for portion in portions for option_id in portion.option_ids}
    by_item: dict[int, dict[int, Decimal]] = defaultdict(dict)
    for item_id, ingredient_id, quantity in RecipeLine.objects.filter(item_id__in=item_ids).values_list(
        "item_id", "ingredient_id", "quantity"
    ):
        by_item[item_id][ingredient_id] = quantity
    by_option: dict[int, list[tuple[int, str, Decimal]]] = defaultdict(list)
    if option_ids:
        for option_id, ingredient_id, effect, quantity in OptionRecipeLine.objects.filter(
            option_id__in=option_ids
        ).values_list("option_id", "ingredient_id", "effect", "quantity"):
            by_option[option_id].append((ingredient_id, effect, quantity))

    needs: dict[int, Need] = defaultdict(Need)
    for portion in portions:
        one = dict(by_item.get(portion.item_id, {}))
        for option_id in portion.option_ids:
            for ingredient_id, effect, quantity in by_option.get(option_id, ()):
                change = quantity if effect == OptionEffect.ADD else -quantity
                one[ingredient_id] = max(ZERO, one.get(ingredient_id, ZERO) + change)
        for ingredient_id, quantity in one.items():
            if quantity > 0:
                need = needs[ingredient_id]
                need.quantity += quantity * portion.quantity
                if portion.name and portion.name not in need.names:
                    need.names.append(portion.name)
    return dict(needs)


# A recipe line one portion of which cannot be made: it takes more than its ingredient has left to reserve.
SHORT = Q(quantity__gt=F("ingredient__on_hand") - F("ingredient__reserved"))


def items_out_of_stock() -> set[int]:
    """Items one portion of which (no options) cannot be made from what is left (1 query)."""
    return set(RecipeLine.objects.filter(SHORT).values_list("item_id", flat=True))


def options_out_of_stock() -> set[int]:
    """Options whose extra cannot be added to one portion from what is left (1 query)."""
    return set(
        OptionRecipeLine.objects.filter(SHORT, effect=OptionEffect.ADD).values_list("option_id", flat=True)
    )


def availability_thresholds(*, ingredient_ids: Iterable[int]) -> dict[int, set[Decimal]]:
    """Per ingredient, the amounts left at which some item or option goes out of stock or comes back.

    One portion of a line can be made while what is left is at least the
    line's quantity, so these are the recipe lines' quantities (2 queries).
    """
    thresholds: dict[int, set[Decimal]] = defaultdict(set)
    ids = list(ingredient_ids)
    for ingredient_id, quantity in RecipeLine.objects.filter(ingredient_id__in=ids).values_list(
        "ingredient_id", "quantity"
    ):
        thresholds[ingredient_id].add(quantity)
    for ingredient_id, quantity in OptionRecipeLine.objects.filter(
        ingredient_id__in=ids, effect=OptionEffect.ADD
    ).values_list("ingredient_id", "quantity"):
        thresholds[ingredient_id].add(quantity)
    return dict(thresholds)


def stock_held_for_order(*, order_id: int) -> dict[int, Decimal]:
    """What an order still holds, per ingredient id: its reservations less its releases and use."""
    rows = (
        StockMovement.objects.filter(order_id=order_id)
        .values("ingredient_id")
        .annotate(held=Sum("reserved_change"))
        .order_by("ingredient_id")
    )
    return {row["ingredient_id"]: row["held"] for row in rows if row["held"] and row["held"] > 0}


def stock_used_for_order(*, order_id: int) -> dict[int, Decimal]:
    """What cooking an order took from on hand, per ingredient id (net of a use undone by a refund)."""
    rows = (
        StockMovement.objects.filter(order_id=order_id, kind=MovementKind.USE)
        .values("ingredient_id")
        .annotate(used=Sum("on_hand_change"))
        .order_by("ingredient_id")
    )
    return {row["ingredient_id"]: -row["used"] for row in rows if row["used"] and row["used"] < 0}


@dataclass(frozen=True)
class SoldOut:
    name: str
    # "86" (a manager marked it), or "out of stock" (what is left cannot make one).
    why: str


def menu_sold_out() -> list[SoldOut]:
    """Items and options on the menu that cannot be ordered now, for the kitchen's 86 list (4 queries)."""
    by_stock = items_out_of_stock()
    items = MenuItem.objects.on_menu().filter(Q(is_available=False) | Q(pk__in=by_stock)).order_by("name")
    sold_out = [SoldOut(item.name, "86" if not item.is_available else "out of stock") for item in items]
    options_by_stock = options_out_of_stock()
    options = (
        ModifierOption.objects.filter(Q(is_available=False) | Q(pk__in=options_by_stock))
        .select_related("group")
        .order_by("group__name", "name")
    )
    sold_out += [
        SoldOut(f"{option.group.name}: {option.name}", "86" if not option.is_available else "out of stock")
        for option in options
    ]
    return sold_out
