"""Waiters take orders for tables and look after them on the floor page."""

from __future__ import annotations

import pytest
from django.urls import reverse

from orders.models import Order, OrderEvent, OrderStatus
from tests.conftest import client_for
from tests.orders.flows import add_to_cart, checkout

pytestmark = pytest.mark.django_db


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


def test_a_waiter_takes_payment_then_serves_the_order(actors, small_menu):
    waiter = client_for(actors.waiter)
    add_to_cart(waiter, small_menu.fries, 1)
    checkout(waiter, order_type="dine_in", table_number="9")
    order = Order.objects.get()

    response = waiter.post(
        reverse("orders:floor_action", args=[order.pk]), {"action": "paid", "version": order.version}
    )

    assert response.status_code == 302
    order.refresh_from_db()
    assert order.status == OrderStatus.PAID
    event = OrderEvent.objects.filter(order=order).last()
    assert (event.actor, event.reason) == (actors.waiter, "payment taken at the table")


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
    assert order.status == OrderStatus.AWAITING_PAYMENT
