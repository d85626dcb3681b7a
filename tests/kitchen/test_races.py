"""Two stations finishing the same order at the same moment, on PostgreSQL."""

from __future__ import annotations

import pytest

from accounts.roles import Actor
from kitchen.models import Ticket, TicketStatus
from kitchen.services import ticket_move
from orders.models import OrderStatus
from orders.pricing import CartLine
from restaurant.errors import Conflict
from tests.concurrency import run_simultaneously
from tests.kitchen.conftest import on_the_board

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_two_stations_bumping_their_last_tickets_at_once_make_the_order_ready_once(
    kitchen, small_menu, actors
):
    order = on_the_board(
        small_menu,
        [CartLine(small_menu.fries.pk, 1), CartLine(small_menu.lemonade.pk, 1, (small_menu.large.pk,))],
    )
    chef = Actor.for_user(actors.chef)
    grill, bar = order.tickets.get(station=kitchen.grill), order.tickets.get(station=kitchen.bar)

    run_simultaneously(
        lambda: ticket_move(ticket_id=grill.pk, move="bump", actor=chef, expected_version=grill.version),
        lambda: ticket_move(ticket_id=bar.pk, move="bump", actor=chef, expected_version=bar.version),
    )

    order.refresh_from_db()
    assert order.status == OrderStatus.READY
    assert set(order.tickets.values_list("status", flat=True)) == {TicketStatus.BUMPED}
    assert list(order.events.values_list("to_status", flat=True)) == [
        "awaiting_payment",
        "paid",
        "in_preparation",
        "ready",
    ]


def test_a_double_tap_on_bump_changes_the_ticket_once(kitchen, small_menu, actors):
    ticket = on_the_board(small_menu).tickets.get()
    chef = Actor.for_user(actors.chef)

    outcomes = run_simultaneously(
        *[lambda: ticket_move(ticket_id=ticket.pk, move="bump", actor=chef, expected_version=1)] * 2
    )

    assert sorted(type(outcome).__name__ for outcome in outcomes) == ["Conflict", "Ticket"]
    assert all(o.code == "stale_ticket" for o in outcomes if isinstance(o, Conflict))
    assert Ticket.objects.get(pk=ticket.pk).version == 2
