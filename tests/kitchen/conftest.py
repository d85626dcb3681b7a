"""A kitchen for the small menu: burgers and fries at the grill (the default station), lemonade at the bar."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from accounts.roles import Actor
from kitchen.models import ItemRoute, Station
from orders.models import Order, OrderStatus
from orders.pricing import CartLine
from orders.services import OrderDetails, order_place, order_transition
from tests.factories import TableFactory

TILL = Actor.system("test-till")


@dataclass
class Kitchen:
    grill: Station
    bar: Station


@pytest.fixture
def kitchen(small_menu) -> Kitchen:  # type: ignore[no-untyped-def]
    # Transactional tests flush the stations the migration made, so each test makes its own.
    Station.objects.exclude(slug__in=("grill", "bar")).update(is_default=False)
    grill, _ = Station.objects.update_or_create(
        slug="grill",
        defaults={
            "name": "Grill",
            "is_default": True,
            "is_active": True,
            "sort_order": 10,
            "warn_after_minutes": 10,
            "late_after_minutes": 18,
        },
    )
    bar, _ = Station.objects.update_or_create(
        slug="bar",
        defaults={
            "name": "Bar",
            "is_default": False,
            "is_active": True,
            "sort_order": 50,
            "warn_after_minutes": 3,
            "late_after_minutes": 6,
        },
    )
    ItemRoute.objects.update_or_create(menu_item=small_menu.lemonade, defaults={"station": bar})
    return Kitchen(grill=grill, bar=bar)


def place(menu, lines: list[CartLine] | None = None, *, instructions: str = "", table: str = "7") -> Order:
    TableFactory(label=table)
    order, _ = order_place(
        lines=lines or [CartLine(menu.fries.pk, 2)],
        details=OrderDetails(
            order_type="dine_in",
            table_number=table,
            contact_name="Ada",
            contact_email="ada@example.test",
            special_instructions=instructions,
        ),
        actor=Actor.guest(),
    )
    return order


def pay(order: Order) -> Order:
    return order_transition(order=order, to_status=OrderStatus.PAID, actor=TILL)


def on_the_board(menu, lines: list[CartLine] | None = None, *, instructions: str = "") -> Order:
    """A paid order with its tickets, which the kitchen makes in the paying transaction."""
    return pay(place(menu, lines, instructions=instructions))
