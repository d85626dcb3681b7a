"""A visitor holds only a few unpaid orders at once: a few never pay, and each holds stock till it lapses."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from orders.models import Order, OrderStatus
from tests.conftest import client_for
from tests.orders.flows import add_to_cart, checkout, checkout_token

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("floor_tables")]

CAP = 3


@pytest.fixture(autouse=True)
def _cap(rush_limits_lifted, settings) -> None:
    # The budgets out of the way (this is about the orders, not the pace), the cap back.
    settings.BRIGADE_MAX_UNPAID_ORDERS_PER_GUEST = CAP


def _place(client: Client, menu, **details):
    assert add_to_cart(client, menu.fries).status_code == 302
    return checkout(client, **details)


def test_a_guest_with_three_unpaid_orders_is_told_to_pay_one_first(client, small_menu):
    placed = [_place(client, small_menu) for _ in range(CAP)]
    assert {answer.status_code for answer in placed} == {302}

    refused = _place(client, small_menu)

    assert refused.status_code == 409
    page = refused.content.decode()
    assert "You already have 3 orders waiting for payment" in page
    for order in Order.objects.all():
        assert order.number in page
    assert Order.objects.count() == CAP
    # The cart is kept for when the guest may order again.
    assert "Fries" in client.get("/cart/").content.decode()


def test_a_cancelled_or_expired_unpaid_order_no_longer_counts(client, small_menu, settings):
    for _ in range(CAP):
        _place(client, small_menu)
    first, second, _third = Order.objects.order_by("pk")
    first.status = OrderStatus.CANCELLED
    first.save(update_fields=["status"])

    assert _place(client, small_menu).status_code == 302
    assert _place(client, small_menu).status_code == 409

    # Past its payment time an order is as good as gone (the sweep cancels it soon).
    Order.objects.filter(pk=second.pk).update(
        created_at=timezone.now() - timedelta(minutes=settings.PAYMENT_TIMEOUT_MINUTES + 1)
    )
    assert _place(client, small_menu).status_code == 302


def test_another_guest_is_not_held_to_someone_elses_orders(client, small_menu):
    for _ in range(CAP):
        _place(client, small_menu)

    assert _place(Client(), small_menu).status_code == 302


def test_a_signed_in_customer_is_counted_by_account_across_sessions(actors, small_menu):
    phone = client_for(actors.customer)
    for _ in range(CAP):
        assert _place(phone, small_menu).status_code == 302

    laptop = client_for(actors.customer)
    assert _place(laptop, small_menu).status_code == 409
    assert _place(client_for(actors.other_customer), small_menu).status_code == 302


def test_sending_a_placed_checkout_again_is_not_refused(client, small_menu):
    for _ in range(CAP - 1):
        _place(client, small_menu)
    add_to_cart(client, small_menu.fries)
    token = checkout_token(client)
    assert checkout(client, token).status_code == 302

    # The same form again (a double click, a retry after a timeout): its order stands.
    add_to_cart(client, small_menu.fries)
    again = checkout(client, token)

    assert again.status_code == 302
    assert Order.objects.count() == CAP


def test_waiters_taking_table_orders_are_not_held_to_it(actors, small_menu):
    waiter = client_for(actors.waiter)
    answers = [
        _place(waiter, small_menu, order_type="dine_in", table_number=str(n)) for n in range(1, CAP + 3)
    ]

    assert {answer.status_code for answer in answers} == {302}
    assert Order.objects.filter(placed_by=actors.waiter, status=OrderStatus.ON_TAB).count() == CAP + 2


def test_the_cap_can_be_turned_off(client, small_menu, settings):
    settings.BRIGADE_MAX_UNPAID_ORDERS_PER_GUEST = 0
    assert {_place(client, small_menu).status_code for _ in range(CAP + 1)} == {302}
