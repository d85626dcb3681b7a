"""What happens to a refund between Brigade and the provider: lost answers, refusals, retries."""

from __future__ import annotations

import logging
import re

import pytest
from django.urls import reverse

from accounts.roles import Actor
from orders.models import OrderEventKind, OrderStatus, Payment, PaymentStatus, Refund, RefundStatus
from orders.payments.services import payment_start, refunds_sweep
from orders.pricing import CartLine
from orders.services import OrderDetails, order_place, order_transition
from tests.conftest import client_for
from tests.orders import test_stripe_adapter

fake_stripe = test_stripe_adapter.fake_stripe

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("eager_tasks")]


def _paid_at_stripe(menu):
    order, _ = order_place(
        lines=[CartLine(menu.burger.pk, 2, (menu.medium.pk,)), CartLine(menu.fries.pk, 1)],
        details=OrderDetails(order_type="pickup", contact_name="Ada", contact_email="ada@example.test"),
        actor=Actor.guest(),
    )
    payment_start(order=order, return_url="https://brigade.example/")
    Payment.objects.update(status=PaymentStatus.SUCCEEDED, received_minor=2800, received_currency="EUR")
    return order_transition(order=order, to_status=OrderStatus.PAID, actor=Actor.system("payments"))


def _refund_from_admin(client, order, amount: str):
    changelist = reverse("admin:orders_order_changelist")
    form = client.post(changelist, {"action": "refund_order", "_selected_action": [order.pk]})
    token = re.search(r'name="token" value="([0-9a-f-]{36})"', form.content.decode()).group(1)
    return client.post(
        changelist,
        {
            "action": "refund_order",
            "_selected_action": [order.pk],
            "apply": "1",
            "amount": amount,
            "reason": "Cold fries",
            "token": token,
        },
        follow=True,
    )


def test_a_refund_whose_answer_was_lost_is_retried_with_its_key_and_paid_once(
    fake_stripe, small_menu, actors
):
    # Given Stripe makes the refund but the line drops before Brigade hears back
    order = _paid_at_stripe(small_menu)
    fake_stripe.lose_refund_answers = 1

    # When a manager refunds €5.00 (the retry task runs at once here)
    _refund_from_admin(client_for(actors.manager), order, "5.00")

    # Then Stripe was asked twice with one key, paid once, and Brigade booked it once
    refund = Refund.objects.get()
    asked = [r for r in fake_stripe.requests if r[:2] == ("POST", "/v1/refunds")]
    assert [headers["Idempotency-Key"] for *_, headers in asked] == [refund.idempotency_key] * 2
    assert [r["amount"] for r in fake_stripe.refunds] == [500]
    assert (refund.status, refund.provider_ref, refund.attempts) == (RefundStatus.SUCCEEDED, "re_test_1", 2)
    payment = Payment.objects.get()
    assert (payment.refunded_minor, payment.refund_reserved_minor) == (500, 0)


def test_a_refund_the_provider_refuses_books_nothing_and_alerts(fake_stripe, small_menu, actors, caplog):
    order = _paid_at_stripe(small_menu)
    fake_stripe.refuse_refunds = True
    caplog.set_level(logging.ERROR, logger="orders.payments.services")

    page = _refund_from_admin(client_for(actors.manager), order, "5.00").content.decode()

    assert "The provider refused the refund of €5.00" in page
    refund = Refund.objects.get()
    assert refund.status == RefundStatus.FAILED
    payment = Payment.objects.get()
    assert (payment.status, payment.refunded_minor, payment.refund_reserved_minor) == (
        PaymentStatus.SUCCEEDED,
        0,
        0,
    )
    assert payment.refundable_minor == 2800  # released: a manager may try again
    assert order.events.filter(kind=OrderEventKind.REFUND_FAILED).count() == 1
    assert any(r.getMessage() == "refund refused by the provider" for r in caplog.records)
    assert refunds_sweep(older_than_seconds=0) == 0  # a refusal is final: never asked again


def test_while_the_provider_is_down_a_refund_stays_owed_and_the_sweep_pays_it_later(
    fake_stripe, small_menu, actors, client, django_capture_on_commit_callbacks
):
    # Given a customer cancels their paid order while Stripe is down
    order = _paid_at_stripe(small_menu)
    fake_stripe.fail = True
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("orders:cancel", args=[order.tracking_token]), {"version": order.version}
        )
    assert response.status_code == 302
    order.refresh_from_db()
    refund = Refund.objects.get()
    assert (order.status, refund.status) == (OrderStatus.REFUNDED, RefundStatus.PENDING)
    # the page says the money is on its way, not that it arrived
    page = client.get(order.get_absolute_url()).content.decode()
    assert "€28.00 is on its way back" in page and "was refunded" not in page

    # When Stripe is back and the sweep runs (twice)
    fake_stripe.fail = False
    test_stripe_adapter.payment_breaker().close()
    swept = [refunds_sweep(older_than_seconds=0), refunds_sweep(older_than_seconds=0)]

    # Then the money went back once, and the page says so
    assert swept == [1, 0]
    assert [r["amount"] for r in fake_stripe.refunds] == [2800]
    refund.refresh_from_db()
    assert refund.status == RefundStatus.SUCCEEDED
    assert Payment.objects.get().status == PaymentStatus.REFUNDED
    page = client.get(order.get_absolute_url()).content.decode()
    assert "€28.00 was refunded" in page and "on its way" not in page
