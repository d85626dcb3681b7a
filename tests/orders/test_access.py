"""Who may see an order: its owner, staff, or a guest with its tracking link."""

from __future__ import annotations

import pytest
from django.urls import reverse

from accounts.roles import Actor
from orders.models import Order, OrderStatus
from orders.pricing import CartLine
from orders.services import OrderDetails, order_place
from tests.conftest import client_for

pytestmark = pytest.mark.django_db


def _place(menu, user=None) -> Order:
    actor = Actor.for_user(user) if user else Actor.guest()
    order, _ = order_place(
        lines=[CartLine(menu.fries.pk, 1)],
        details=OrderDetails(order_type="pickup", contact_name="A", contact_email="a@example.test"),
        actor=actor,
    )
    return order


def test_a_wrong_tracking_token_is_a_404(client, small_menu):
    _place(small_menu)
    assert client.get(reverse("orders:detail", args=["not-a-real-token"])).status_code == 404


def test_a_guest_order_opens_with_its_tracking_link(client, small_menu):
    order = _place(small_menu)
    assert client.get(order.get_absolute_url()).status_code == 200


def test_another_customers_order_is_a_404(actors, small_menu):
    order = _place(small_menu, actors.customer)

    assert client_for(actors.other_customer).get(order.get_absolute_url()).status_code == 404
    assert client_for(None).get(order.get_absolute_url()).status_code == 404
    assert client_for(actors.customer).get(order.get_absolute_url()).status_code == 200
    assert client_for(actors.waiter).get(order.get_absolute_url()).status_code == 200


def test_another_customer_cannot_cancel_an_order(actors, small_menu):
    order = _place(small_menu, actors.customer)

    response = client_for(actors.other_customer).post(
        reverse("orders:cancel", args=[order.tracking_token]), {"version": order.version}
    )

    assert response.status_code == 404
    order.refresh_from_db()
    assert order.status == OrderStatus.AWAITING_PAYMENT


def test_my_orders_lists_only_my_own(actors, small_menu):
    mine = _place(small_menu, actors.customer)
    theirs = _place(small_menu, actors.other_customer)

    page = client_for(actors.customer).get(reverse("orders:mine")).content.decode()

    assert mine.get_absolute_url() in page
    assert theirs.get_absolute_url() not in page


def test_my_orders_asks_a_guest_to_sign_in(client):
    response = client.get(reverse("orders:mine"))
    assert response.status_code == 302
    assert reverse("account_login") in response["Location"]


def test_a_guest_cancels_an_unpaid_order_from_its_page(client, small_menu):
    order = _place(small_menu)

    response = client.post(reverse("orders:cancel", args=[order.tracking_token]), {"version": order.version})

    assert response.status_code == 302
    order.refresh_from_db()
    assert order.status == OrderStatus.CANCELLED
    assert order.events.last().actor_label == "guest"


def test_cancelling_with_a_stale_page_is_a_conflict(client, small_menu):
    order = _place(small_menu)
    stale_version = order.version
    client.post(reverse("orders:cancel", args=[order.tracking_token]), {"version": stale_version})

    again = client.post(reverse("orders:cancel", args=[order.tracking_token]), {"version": stale_version})

    assert again.status_code == 409
    assert order.events.count() == 2
