"""Refunds made at the same moment, on PostgreSQL: the books always equal what the provider paid."""

from __future__ import annotations

import re

import pytest
from django.db.models import Sum
from django.urls import reverse

from orders.models import Payment, Refund, RefundStatus
from tests.concurrency import run_simultaneously
from tests.conftest import client_for
from tests.orders import test_stripe_adapter
from tests.orders.test_refund_delivery import _paid_at_stripe

fake_stripe = test_stripe_adapter.fake_stripe

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("eager_tasks"),
]

CHANGELIST = reverse("admin:orders_order_changelist")


def _open_form(client, order) -> str:
    page = client.post(CHANGELIST, {"action": "refund_order", "_selected_action": [order.pk]})
    return re.search(r'name="token" value="([0-9a-f-]{36})"', page.content.decode()).group(1)


def _send_form(client, order, token: str, amount: str):
    def send():  # type: ignore[no-untyped-def]
        return client.post(
            CHANGELIST,
            {
                "action": "refund_order",
                "_selected_action": [order.pk],
                "apply": "1",
                "amount": amount,
                "reason": "Sorry",
                "token": token,
            },
        ).status_code

    return send


def _books(payment: Payment) -> tuple[int, int]:
    payment.refresh_from_db()
    succeeded = Refund.objects.filter(payment=payment, status=RefundStatus.SUCCEEDED)
    return (succeeded.aggregate(total=Sum("amount_minor"))["total"] or 0, payment.refunded_minor)


def test_five_managers_refunding_seven_euros_at_once_refund_what_was_paid_and_no_more(
    fake_stripe, small_menu, actors
):
    # Given a €28.00 payment and five refund forms for €7.00, each opened by a manager
    order = _paid_at_stripe(small_menu)
    clients = [client_for(actors.manager) for _ in range(5)]
    sends = [_send_form(client, order, _open_form(client, order), "7.00") for client in clients]

    # When all five are sent at the same moment
    outcomes = run_simultaneously(*sends)

    # Then four went through, the fifth was told there was nothing left,
    # and Brigade's books equal what Stripe paid out
    assert sorted(outcomes) == [200, 302, 302, 302, 302], outcomes
    payment = Payment.objects.get()
    assert _books(payment) == (2800, 2800)
    assert fake_stripe.refunded_minor == 2800
    assert len(fake_stripe.refunds) == 4
    assert payment.refund_reserved_minor == 0
    assert Refund.objects.filter(status=RefundStatus.SUCCEEDED).values("provider_ref").distinct().count() == 4


def test_one_refund_form_sent_three_times_at_once_refunds_once(fake_stripe, small_menu, actors):
    order = _paid_at_stripe(small_menu)
    clients = [client_for(actors.manager) for _ in range(3)]
    token = _open_form(clients[0], order)

    outcomes = run_simultaneously(*[_send_form(client, order, token, "0.01") for client in clients])

    assert outcomes == [302, 302, 302], outcomes
    payment = Payment.objects.get()
    assert Refund.objects.count() == 1
    assert _books(payment) == (1, 1)
    assert [refund["amount"] for refund in fake_stripe.refunds] == [1]
