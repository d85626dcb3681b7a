"""The floor's sequence under a rush, on PostgreSQL: taken with every change, in one lock order."""

from __future__ import annotations

import pytest

from accounts.roles import Actor
from kitchen.models import Ticket
from kitchen.services import ticket_move
from orders.floor.selectors import floor_seq
from orders.floor.services import FLOOR_TOPIC
from orders.models import Order, OrderStatus, OutboxEvent
from orders.pricing import CartLine
from orders.services import OrderDetails, order_place
from tests.concurrency import run_simultaneously
from tests.kitchen import conftest as kitchen_setup
from tests.kitchen.conftest import on_the_board

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

kitchen = kitchen_setup.kitchen


def _a_guests_fries() -> Order:
    order, _ = order_place(
        lines=[CartLine(Order.objects.first().items.first().menu_item_id, 1)],  # type: ignore[union-attr]
        details=OrderDetails(order_type="pickup", contact_name="Grace", contact_email="grace@example.test"),
        actor=Actor.guest(),
    )
    return order


def test_chefs_starting_and_guests_ordering_at_once_never_wait_on_each_other_and_number_every_change(
    kitchen, small_menu, pantry, actors
):
    # Given four paid orders of fries on the board (the pantry holds potatoes for ten)
    orders = [on_the_board(small_menu, [CartLine(small_menu.fries.pk, 1)]) for _ in range(4)]
    tickets = [Ticket.objects.get(order=order) for order in orders]
    chef = Actor.for_user(actors.chef)
    before = floor_seq()

    # When chefs start them (order row, potatoes used, the floor's number, the board's) while
    # guests order fries (potatoes reserved, the floor's number) at the same moment
    outcomes = run_simultaneously(
        *(
            (lambda t=t: ticket_move(ticket_id=t.pk, move="start", actor=chef, expected_version=t.version))
            for t in tickets
        ),
        *(_a_guests_fries for _ in range(4)),
    )

    # Then every one went through (a deadlock would be an error here)
    assert [o for o in outcomes if isinstance(o, Exception)] == []
    assert all(
        o.status == OrderStatus.IN_PREPARATION for o in Order.objects.filter(pk__in=[o.pk for o in orders])
    )
    # and each change took the next floor number, none twice and none skipped
    numbers = sorted(
        OutboxEvent.objects.filter(topic=FLOOR_TOPIC, payload__seq__gt=before).values_list(
            "payload__seq", flat=True
        )
    )
    assert numbers == list(range(before + 1, before + 9)) and floor_seq() == before + 8
