"""The cart lives in the session as plain ids and quantities, never prices.

It is priced afresh from the menu on every view, so a price change or an 86
shows up in the cart at once and a tampered session cannot lower a price.
The menu here is the cached snapshot of the current menu version (menu.cache,
bumped after every change that commits), the same for every visitor: the
cart's checks cost no query. Placing the order prices it again from the
database (orders.services.order_place), and that price is the one charged.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from django.contrib.sessions.backends.base import SessionBase

from menu.cache import MenuSnapshot
from menu.selectors import menu_current
from orders.pricing import CartLine, PricedLine, price_lines, price_lines_each
from restaurant.errors import ApplicationError

if TYPE_CHECKING:
    from orders.models import Order

SESSION_KEY = "cart"


class SessionCart:
    def __init__(
        self, session: SessionBase, *, specials_allowed: bool = False, menu: MenuSnapshot | None = None
    ) -> None:
        self.session = session
        # Whether this request may hold VIP specials (menu.specials); changes are priced with it.
        self.specials_allowed = specials_allowed
        # The request's menu snapshot, if it has one already; else read when first priced.
        self._menu = menu
        raw = session.get(SESSION_KEY)
        self._lines: list[dict[str, Any]] = raw if isinstance(raw, list) else []

    @property
    def menu(self) -> MenuSnapshot:
        if self._menu is None:
            self._menu = menu_current()
        return self._menu

    def _price(self, lines: list[CartLine]) -> list[PricedLine]:
        return price_lines(lines, specials_allowed=self.specials_allowed, menu=self.menu)

    def priced_each(self, lines: list[CartLine]) -> list[PricedLine | ApplicationError]:
        """Each line as the menu prices it now, or why it cannot be had (an 86, a special gone)."""
        return price_lines_each(lines, specials_allowed=self.specials_allowed, menu=self.menu)

    def _save(self) -> None:
        self.session[SESSION_KEY] = self._lines
        self.session.modified = True

    def lines(self) -> list[tuple[str, CartLine]]:
        result = []
        for raw in self._lines:
            try:
                line = CartLine(
                    item_id=int(raw["item_id"]),
                    quantity=int(raw["quantity"]),
                    option_ids=tuple(int(i) for i in raw["option_ids"]),
                    note=str(raw.get("note", "")),
                )
            except (KeyError, TypeError, ValueError):
                continue
            result.append((str(raw.get("id", "")), line))
        return result

    def cart_lines(self) -> list[CartLine]:
        return [line for _, line in self.lines()]

    def __len__(self) -> int:
        return sum(line.quantity for _, line in self.lines())

    def add(self, line: CartLine) -> PricedLine:
        """Adds a line, merging it with an identical one; raises if the result is invalid.

        Returns the line as it is in the cart now, priced.

        Identical means the same note too: "no onions" and a plain one are
        two lines, so the kitchen sees which one the note is for.
        """
        option_ids = tuple(sorted(line.option_ids))
        note = line.note.strip()
        for raw in self._lines:
            if (
                raw.get("item_id") == line.item_id
                and tuple(raw.get("option_ids", ())) == option_ids
                and str(raw.get("note", "")) == note
            ):
                merged = CartLine(line.item_id, int(raw["quantity"]) + line.quantity, option_ids, note)
                [priced] = self._price([merged])
                raw["quantity"] = merged.quantity
                self._save()
                return priced
        candidate = CartLine(line.item_id, line.quantity, option_ids, note)
        priced = self._price([*self.cart_lines(), candidate])[-1]
        self._lines.append(
            {
                "id": secrets.token_hex(6),
                "item_id": candidate.item_id,
                "quantity": candidate.quantity,
                "option_ids": list(option_ids),
                "note": note,
            }
        )
        self._save()
        return priced

    def _find(self, line_id: str) -> dict[str, Any]:
        for raw in self._lines:
            if raw.get("id") == line_id:
                return raw
        raise ApplicationError("That line is no longer in your cart.", code="unknown_line")

    def set_quantity(self, line_id: str, quantity: int, note: str | None = None) -> None:
        """Changes a line's quantity, and its note unless `note` is None (kept as it is)."""
        raw = self._find(line_id)
        note = str(raw.get("note", "")) if note is None else note.strip()
        self._price([CartLine(int(raw["item_id"]), quantity, tuple(raw["option_ids"]), note)])
        raw["quantity"] = quantity
        raw["note"] = note
        self._save()

    def remove(self, line_id: str) -> None:
        self._lines.remove(self._find(line_id))
        self._save()

    def clear(self) -> None:
        self._lines = []
        self._save()


@dataclass
class Reordered:
    """What "order again" put back in the cart, and what it could not (by the names the order kept)."""

    added: list[str] = field(default_factory=list)
    unavailable: list[str] = field(default_factory=list)
    # Sold as before, but the cart as it is cannot take it (too many lines, a quantity over the limit).
    refused: list[str] = field(default_factory=list)


def cart_reorder(*, cart: SessionCart, order: Order) -> Reordered:
    """Puts a past order's lines back in the cart, each as the menu prices it today.

    A line is added with its options and note if the menu still sells it so
    (priced afresh: today's price, never the old one); a dish gone from the
    menu, sold out, or with an option that no longer exists or is off today,
    is named in `unavailable` instead and the rest still goes in. Lines the
    cart holds already merge as any add does.
    """
    result = Reordered()
    for item in order.items.all():
        label = f"{item.name} ({item.modifier_text()})" if item.modifiers else item.name
        if item.menu_item_id is None:
            result.unavailable.append(label)
            continue
        line = CartLine(
            item_id=item.menu_item_id,
            quantity=item.quantity,
            option_ids=tuple(int(str(m["option_id"])) for m in item.modifiers),
            note=item.note,
        )
        # Alone first: whether the menu still sells it is one question, whether the cart has room another.
        if isinstance(cart.priced_each([line])[0], ApplicationError):
            result.unavailable.append(label)
            continue
        try:
            cart.add(line)
        except ApplicationError as error:
            result.refused.append(f"{label}: {error.message}")
        else:
            result.added.append(label)
    return result
