"""Waiters take orders for tables and look after them on the floor page."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from orders.models import Order, OrderEvent, OrderStatus
from orders.services import PAID_IN_PERSON
from tests.conftest import client_for
from tests.orders.flows import add_to_cart, checkout

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("floor_tables")]


def test_a_waiter_orders_for_a_table_and_the_order_is_the_tables_not_the_waiters(actors, small_menu):
    waiter = client_for(actors.waiter)
    add_to_cart(waiter, small_menu.burger, 2, [small_menu.rare])

    checkout(
        waiter, order_type="dine_in", table_number="4", contact_name="Table 4", contact_email="floor@x.test"
    )

    order = Order.objects.get()
    assert (order.customer, order.placed_by, order.table_number) == (None, actors.waiter, "4")
    assert order.get_absolute_url() not in waiter.get(reverse("orders:mine")).content.decode()
    floor = waiter.get(reverse("orders:floor")).content.decode()
    assert f'data-order="{order.pk}"' in floor and "Table 4" in floor


def test_a_waiter_takes_payment_for_an_unpaid_order_in_person(actors, small_menu):
    from tests.kitchen.conftest import place

    waiter = client_for(actors.waiter)
    order = place(small_menu)

    response = waiter.post(
        reverse("orders:floor_action", args=[order.pk]), {"action": "paid", "version": order.version}
    )

    assert response.status_code == 302
    order.refresh_from_db()
    assert order.status == OrderStatus.PAID
    event = OrderEvent.objects.filter(order=order).last()
    assert (event.actor, event.reason) == (actors.waiter, PAID_IN_PERSON)


def test_a_round_on_a_tab_is_not_paid_on_its_own_from_the_floor(actors, small_menu):
    waiter = client_for(actors.waiter)
    add_to_cart(waiter, small_menu.fries, 1)
    checkout(waiter, order_type="dine_in", table_number="9")
    order = Order.objects.get()
    assert order.status == OrderStatus.ON_TAB

    response = waiter.post(
        reverse("orders:floor_action", args=[order.pk]), {"action": "paid", "version": order.version}
    )

    assert response.status_code == 409
    order.refresh_from_db()
    assert order.status == OrderStatus.ON_TAB


def test_a_waiter_must_say_why_an_order_is_cancelled(actors, small_menu):
    waiter = client_for(actors.waiter)
    add_to_cart(waiter, small_menu.fries, 1)
    checkout(waiter, order_type="dine_in", table_number="2")
    order = Order.objects.get()
    url = reverse("orders:floor_action", args=[order.pk])

    without_reason = waiter.post(url, {"action": "cancel", "version": order.version, "reason": " "})
    with_reason = waiter.post(
        url, {"action": "cancel", "version": order.version, "reason": "Table walked out"}
    )

    assert without_reason.status_code == 400
    assert "Say why" in without_reason.content.decode()
    assert with_reason.status_code == 302
    order.refresh_from_db()
    assert order.status == OrderStatus.CANCELLED
    assert order.events.last().reason == "Table walked out"


def test_the_floor_refuses_an_action_it_does_not_offer(actors, small_menu):
    add_to_cart(client_for(actors.customer), small_menu.fries, 1)
    client = client_for(actors.waiter)
    add_to_cart(client, small_menu.fries, 1)
    checkout(client, order_type="dine_in", table_number="3")
    order = Order.objects.get()

    response = client.post(
        reverse("orders:floor_action", args=[order.pk]), {"action": "refund", "version": 1}
    )

    assert response.status_code == 400
    order.refresh_from_db()
    assert order.status == OrderStatus.ON_TAB


# ---------------------------------------------------------------- a flood of unpaid orders


def _flood_of_unpaid_orders(menu, count: int) -> None:
    """`count` unpaid guest orders, as anyone can place them, made in one go."""
    template = Order.objects.filter(status=OrderStatus.AWAITING_PAYMENT).first()
    assert template is not None
    Order.objects.bulk_create(
        [
            Order(
                status=OrderStatus.AWAITING_PAYMENT,
                order_type=template.order_type,
                contact_name="Flood",
                contact_email="flood@example.test",
                subtotal_minor=template.subtotal_minor,
                total_minor=template.total_minor,
                currency=template.currency,
            )
            for _ in range(count)
        ]
    )


def _floor_order_ids(client) -> list[int]:  # type: ignore[no-untyped-def]
    page = client.get(reverse("orders:floor"))
    assert page.status_code == 200
    return [int(pk) for pk in re.findall(r'data-order="([0-9]+)"', page.content.decode())]


@pytest.mark.parametrize("paid_first", [True, False], ids=["paid-then-flood", "flood-then-paid"])
def test_a_flood_of_unpaid_orders_never_pushes_a_paid_one_off_the_floor(actors, small_menu, paid_first):
    # Given a paid order and 200 unpaid ones placed around it,
    from accounts.roles import Actor
    from orders.services import order_transition
    from tests.kitchen.conftest import place

    unpaid = place(small_menu)
    if not paid_first:
        _flood_of_unpaid_orders(small_menu, 200)
    paid = order_transition(order=place(small_menu), to_status=OrderStatus.PAID, actor=Actor.system("till"))
    if paid_first:
        _flood_of_unpaid_orders(small_menu, 200)

    # when a waiter opens the floor page,
    shown = _floor_order_ids(client_for(actors.waiter))

    # the paid order is the first listed, and the page stays bounded.
    assert shown[0] == paid.pk
    assert len(shown) <= 200
    assert unpaid.pk not in shown[:1]


def test_a_tables_round_outranks_a_flood_of_guest_orders(actors, small_menu):
    from tests.kitchen.conftest import place

    waiter = client_for(actors.waiter)
    add_to_cart(waiter, small_menu.fries, 1)
    checkout(waiter, order_type="dine_in", table_number="9", contact_name="Table 9", contact_email="f@x.test")
    table_order = Order.objects.get()
    place(small_menu)
    _flood_of_unpaid_orders(small_menu, 250)

    shown = _floor_order_ids(waiter)

    # The grid shows every table's rounds before the pass, whatever the flood.
    assert table_order.pk in shown
    assert "older unpaid orders not shown" in waiter.get(reverse("orders:floor")).content.decode()
