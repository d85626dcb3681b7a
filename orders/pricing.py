"""Prices a cart against the menu as it is now. The client never sends a price.

Every rule a tampered form could break is checked here, once, for the cart and
for checkout alike: quantity bounds, item on the menu and available, each
option belonging to one of the item's groups and available, each group's
minimum and maximum number of choices. A VIP special is on the menu only for
a request the flag "vip_specials" is on for (`specials_allowed`, from
menu.specials at the door); for anyone else it is an unknown item, refused
with the same words, and checkout prices again with the flag as it is then.

The rules read an item through `PricingItem`, which two sources give: the
cached menu snapshot (menu.cache, `menu=`), for the cart's checks and the
prices the cart and checkout pages show, and the database as it is now (no
`menu`), for placing an order inside its transaction. The snapshot's
availability includes what the pantry cannot make; at placement that is the
stock reservation's answer (menu.pantry.services.stock_reserve), not ours.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Protocol

from django.conf import settings
from django.core.exceptions import ValidationError

from menu.cache import GroupView, MenuSnapshot, group_view, item_groups_prefetch
from menu.models import MenuItem
from orders.coupons.models import Coupon, CouponKind
from orders.models import LINE_NOTE_MAX_LENGTH
from restaurant.errors import ApplicationError
from restaurant.validators import refuse_invisible_controls


@dataclass(frozen=True)
class CartLine:
    item_id: int
    quantity: int
    option_ids: tuple[int, ...] = ()
    # The customer's note on this line ("no onions"), for the station that cooks it.
    note: str = ""


class PricingItem(Protocol):
    """An item on the menu as the rules read it: a snapshot's ItemView, or _ItemRow from the database."""

    @property
    def pk(self) -> int: ...
    @property
    def name(self) -> str: ...
    @property
    def price_minor(self) -> int: ...
    @property
    def is_available(self) -> bool: ...
    @property
    def is_special(self) -> bool: ...
    @property
    def groups(self) -> Sequence[GroupView]: ...


@dataclass(frozen=True, slots=True)
class _ItemRow:
    pk: int
    name: str
    price_minor: int
    is_available: bool
    is_special: bool
    groups: tuple[GroupView, ...]


@dataclass(frozen=True)
class PricedLine:
    item: PricingItem
    quantity: int
    base_price_minor: int
    unit_price_minor: int
    modifiers: list[dict[str, object]]
    note: str = ""

    @property
    def line_total_minor(self) -> int:
        return self.unit_price_minor * self.quantity

    def modifier_text(self) -> str:
        return ", ".join(str(m["option"]) for m in self.modifiers)


def _items_from_database(item_ids: set[int]) -> dict[int, PricingItem]:
    items = MenuItem.objects.on_menu().filter(pk__in=item_ids).prefetch_related(item_groups_prefetch())
    return {
        item.pk: _ItemRow(
            pk=item.pk,
            name=item.name,
            price_minor=item.price_minor,
            is_available=item.is_available,
            is_special=item.is_special,
            groups=tuple(group_view(link) for link in item.item_groups.all()),
        )
        for item in items
    }


def _items_on_menu(item_ids: set[int], menu: MenuSnapshot | None) -> Mapping[int, PricingItem]:
    """The lines' items that are on the menu (listed, in an active category); the others are unknown."""
    if menu is None:
        return _items_from_database(item_ids)
    return {pk: item for pk in item_ids if (item := menu.item_by_pk(pk)) is not None}


def _check_quantity(quantity: int) -> None:
    limit = settings.BRIGADE_MAX_LINE_QUANTITY
    if not isinstance(quantity, int) or isinstance(quantity, bool) or not 1 <= quantity <= limit:
        raise ApplicationError(
            f"Quantity must be a whole number from 1 to {limit}.",
            code="invalid_quantity",
            data={"max": limit},
        )


def _check_note(note: str) -> str:
    """A line's note as it is kept, or ApplicationError: the doors check it too, this is the last word."""
    if not isinstance(note, str) or len(note) > LINE_NOTE_MAX_LENGTH:
        raise ApplicationError(
            f"A note on a line is limited to {LINE_NOTE_MAX_LENGTH} characters.",
            code="invalid_note",
            data={"max": LINE_NOTE_MAX_LENGTH},
        )
    try:
        refuse_invisible_controls(note)
    except ValidationError as error:
        raise ApplicationError(str(error.message), code="invalid_note") from error
    return note.strip()


def _price_one(line: CartLine, item: PricingItem | None, *, specials_allowed: bool) -> PricedLine:
    _check_quantity(line.quantity)
    note = _check_note(line.note)
    if item is None or (item.is_special and not specials_allowed):
        raise ApplicationError("That item is not on the menu.", code="unknown_item")
    if not item.is_available:
        raise ApplicationError(f"Sorry, {item.name} is sold out.", code="item_unavailable")
    if len(set(line.option_ids)) != len(line.option_ids):
        raise ApplicationError("An option was chosen twice.", code="duplicate_option")

    option_ids = set(line.option_ids)
    modifiers: list[dict[str, object]] = []
    seen: set[int] = set()
    for group in item.groups:
        chosen = [option for option in group.options if option.pk in option_ids]
        seen.update(option.pk for option in chosen)
        if not group.min_choices <= len(chosen) <= group.max_choices:
            raise ApplicationError(
                f"{item.name}: {group.name} — {group.rule_text.lower()}.",
                code="invalid_choice_count",
                data={"group": group.name, "min": group.min_choices, "max": group.max_choices},
            )
        for option in chosen:
            if not option.is_available:
                raise ApplicationError(
                    f"Sorry, {option.name} is not available today.", code="option_unavailable"
                )
            modifiers.append(
                {
                    "group": group.name,
                    "option": option.name,
                    "option_id": option.pk,
                    "price_delta_minor": option.price_delta_minor,
                }
            )
    if option_ids - seen:
        raise ApplicationError(f"An option chosen does not belong to {item.name}.", code="foreign_option")

    unit_price = item.price_minor + sum(int(m["price_delta_minor"]) for m in modifiers)  # type: ignore[call-overload]
    if unit_price < 0:
        raise ApplicationError("That combination has no valid price.", code="invalid_price")
    return PricedLine(
        item=item,
        quantity=line.quantity,
        base_price_minor=item.price_minor,
        unit_price_minor=unit_price,
        modifiers=modifiers,
        note=note,
    )


def price_lines_each(
    lines: Sequence[CartLine], *, specials_allowed: bool = False, menu: MenuSnapshot | None = None
) -> list[PricedLine | ApplicationError]:
    """Prices each line on its own: a line that went bad (an 86) is reported, not fatal."""
    items = _items_on_menu({line.item_id for line in lines}, menu)
    results: list[PricedLine | ApplicationError] = []
    for line in lines:
        try:
            results.append(_price_one(line, items.get(line.item_id), specials_allowed=specials_allowed))
        except ApplicationError as error:
            results.append(error)
    return results


def price_lines(
    lines: Sequence[CartLine], *, specials_allowed: bool = False, menu: MenuSnapshot | None = None
) -> list[PricedLine]:
    """Prices every line, or raises ApplicationError for the first bad one.

    Against `menu`, the cached snapshot, for the cart; without it against the
    database as it is now, as an order is placed.
    """
    if len(lines) > settings.BRIGADE_MAX_CART_LINES:
        raise ApplicationError(
            f"An order can hold at most {settings.BRIGADE_MAX_CART_LINES} different lines.",
            code="too_many_lines",
        )
    items = _items_on_menu({line.item_id for line in lines}, menu)
    return [_price_one(line, items.get(line.item_id), specials_allowed=specials_allowed) for line in lines]


def coupon_discount(coupon: Coupon, subtotal_minor: int) -> int:
    """What a coupon takes off a subtotal, in minor units; never the whole of it.

    A percentage is rounded half up to the minor unit (10% of 12.55 is 1.26).
    Coupons cannot make an order free (their constraints), and the cap keeps
    that true for a subtotal the rules never let through.
    """
    if coupon.kind == CouponKind.PERCENT:
        discount = (subtotal_minor * coupon.value * 2 + 100) // 200
    else:
        discount = coupon.value
    return max(0, min(discount, subtotal_minor - 1))


def vat_included(total_minor: int) -> int:
    """The VAT inside a gross amount at BRIGADE_VAT_PERCENT, rounded half up to the minor unit.

    Prices include VAT, so the tax is total × rate / (100 + rate): 13.5% of a
    23.00 total holds 2.74 of VAT, not 23.00 × 13.5% = 3.11.
    """
    rate = settings.BRIGADE_VAT_PERCENT
    vat = Decimal(total_minor) * rate / (Decimal(100) + rate)
    return int(vat.quantize(Decimal(1), rounding=ROUND_HALF_UP))
