"""The payment webhook: only the provider's signed events count, each once, in any order."""

from __future__ import annotations

import json
import logging
import time
from datetime import timedelta

import pybreaker
import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from accounts.roles import Actor, Role
from orders.models import (
    Order,
    OrderStatus,
    Payment,
    PaymentStatus,
    PaymentWebhookEvent,
    Refund,
    RefundStatus,
)
from orders.payments.base import PAYMENT_FAILED, PAYMENT_SUCCEEDED
from orders.payments.sandbox import SIGNATURE_HEADER, sandbox_event_body, sandbox_sign
from orders.payments.services import orders_expire_unpaid, payment_breaker, payment_start
from orders.pricing import CartLine
from orders.services import OrderDetails, order_place
from tests.orders.flows import add_to_cart, checkout

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("eager_tasks")]

WEBHOOK = "/webhooks/payments/sandbox/"


def _order_with_payment(menu) -> tuple[Order, Payment]:
    order, _ = order_place(
        lines=[CartLine(menu.fries.pk, 2)],
        details=OrderDetails(order_type="pickup", contact_name="Ada", contact_email="ada@example.test"),
        actor=Actor.guest(),
    )
    payment_start(order=order, return_url="http://testserver" + order.get_absolute_url())
    return order, order.payments.get()


def _post(client, body: bytes, signature: str | None = None, **headers):
    signature = sandbox_sign(body) if signature is None else signature
    return client.post(
        WEBHOOK, data=body, content_type="application/json", headers={SIGNATURE_HEADER: signature, **headers}
    )


def _event(payment: Payment, event_type: str = PAYMENT_SUCCEEDED) -> bytes:
    return sandbox_event_body(
        reference=payment.provider_ref, event_type=event_type, amount_minor=payment.amount_minor
    )


def test_a_signed_success_marks_the_order_paid_and_sends_the_confirmation(
    client, small_menu, django_capture_on_commit_callbacks
):
    order, payment = _order_with_payment(small_menu)

    with django_capture_on_commit_callbacks(execute=True):
        response = _post(client, _event(payment))

    assert response.status_code == 200
    assert response.json() == {"status": "ok", "outcome": "order_paid"}
    order.refresh_from_db()
    payment.refresh_from_db()
    assert (order.status, payment.status) == (OrderStatus.PAID, PaymentStatus.SUCCEEDED)
    assert order.events.last().actor_label == "system:payments"
    assert len(mail.outbox) == 1


def test_the_same_event_five_times_changes_the_order_once(
    client, small_menu, django_capture_on_commit_callbacks
):
    order, payment = _order_with_payment(small_menu)
    body = _event(payment)

    with django_capture_on_commit_callbacks(execute=True):
        outcomes = [_post(client, body).json()["outcome"] for _ in range(5)]

    assert outcomes == ["order_paid"] + ["duplicate"] * 4
    assert order.events.filter(to_status=OrderStatus.PAID).count() == 1
    assert PaymentWebhookEvent.objects.count() == 1
    assert len(mail.outbox) == 1


@pytest.mark.parametrize(
    ("make", "code"),
    [
        (lambda body: (body, "t=1,v1=" + "0" * 64), "bad_signature"),
        (lambda body: (body, ""), "bad_signature"),
        (lambda body: (body.replace(b'"amount"', b'"amount_"'), None), "bad_signature"),
        (lambda body: (body, sandbox_sign(body, timestamp=int(time.time()) - 3600)), "stale_timestamp"),
        (lambda body: (body, sandbox_sign(body, timestamp=int(time.time()) + 3600)), "future_timestamp"),
        (lambda body: (b"{not json", sandbox_sign(b"{not json")), "malformed"),
    ],
    ids=["forged", "unsigned", "tampered", "stale", "future", "malformed"],
)
def test_an_event_that_is_not_provably_the_providers_changes_nothing(client, small_menu, caplog, make, code):
    order, payment = _order_with_payment(small_menu)
    caplog.set_level(logging.WARNING, logger="orders.payments.views")
    body, signature = make(_event(payment))
    if signature is None:  # signed before it was tampered with
        signature = sandbox_sign(_event(payment))

    response = _post(client, body, signature, **{"X-Request-ID": "req-webhook-1"})

    assert response.status_code == 400
    assert response.json()["error"]["code"] == code
    assert response.json()["error"]["request_id"] == "req-webhook-1"
    order.refresh_from_db()
    assert order.status == OrderStatus.AWAITING_PAYMENT
    assert not PaymentWebhookEvent.objects.exists()
    assert any(getattr(r, "request_id", None) == "req-webhook-1" for r in caplog.records)


def test_an_unknown_event_type_is_refused(client, small_menu):
    _order, payment = _order_with_payment(small_menu)
    body = sandbox_event_body(reference=payment.provider_ref, event_type="payment.teleported", amount_minor=1)

    response = _post(client, body)

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "unknown_event_type"


def test_a_five_megabyte_body_is_refused_before_it_is_read(client, small_menu):
    order, _payment = _order_with_payment(small_menu)
    huge = json.dumps({"padding": "x" * (5 * 1024 * 1024)}).encode()

    response = _post(client, huge)

    assert response.status_code == 413
    order.refresh_from_db()
    assert order.status == OrderStatus.AWAITING_PAYMENT


def test_an_unknown_provider_is_a_404(client):
    response = client.post("/webhooks/payments/paypal/", data=b"{}", content_type="application/json")
    assert response.status_code == 404


def test_a_decline_keeps_the_order_out_of_the_kitchen_and_the_customer_can_retry(
    client, small_menu, actors, django_capture_on_commit_callbacks
):
    from tests.conftest import client_for

    order, payment = _order_with_payment(small_menu)

    _post(client, _event(payment, PAYMENT_FAILED))

    order.refresh_from_db()
    payment.refresh_from_db()
    assert (order.status, payment.status) == (OrderStatus.AWAITING_PAYMENT, PaymentStatus.FAILED)
    assert (
        f'data-order="{order.pk}"'
        not in client_for(actors.chef).get(reverse("kitchen:board")).content.decode()
    )
    page = client.get(order.get_absolute_url()).content.decode()
    assert "did not go through" in page and "Pay now" in page

    # The customer tries again: a new payment at the provider, which succeeds.
    retry = client.post(reverse("orders:pay", args=[order.tracking_token]))
    assert retry.status_code == 302 and retry["Location"].startswith("/sandbox/pay/")
    second = order.payments.order_by("-pk").first()
    with django_capture_on_commit_callbacks(execute=True):
        _post(client, _event(second))
    order.refresh_from_db()
    assert order.status == OrderStatus.PAID


def test_an_unpaid_order_expires_and_is_cancelled(small_menu, settings):
    order, _payment = _order_with_payment(small_menu)

    assert orders_expire_unpaid() == 0
    later = timezone.now() + timedelta(minutes=settings.PAYMENT_TIMEOUT_MINUTES + 1)
    assert orders_expire_unpaid(now=later) == 1

    order.refresh_from_db()
    assert order.status == OrderStatus.CANCELLED
    assert order.events.last().actor_label == "system:expiry"


def test_a_success_for_an_expired_order_is_refunded_automatically(
    client, small_menu, settings, django_capture_on_commit_callbacks
):
    order, payment = _order_with_payment(small_menu)
    orders_expire_unpaid(now=timezone.now() + timedelta(minutes=settings.PAYMENT_TIMEOUT_MINUTES + 1))

    with django_capture_on_commit_callbacks(execute=True):
        response = _post(client, _event(payment))

    assert response.json()["outcome"] == "refund_scheduled"
    payment.refresh_from_db()
    order.refresh_from_db()
    assert payment.status == PaymentStatus.REFUNDED
    assert Refund.objects.get().amount_minor == payment.amount_minor
    assert order.status == OrderStatus.CANCELLED
    # Never a confirmation (the order was not paid); the money that went back is told of, once.
    assert not any("confirmed" in message.subject for message in mail.outbox)
    assert [m.subject for m in mail.outbox if "refund" in m.subject] == [
        f"Brigade Bistro: order {order.number} refund"
    ]


def test_while_the_circuit_is_open_checkout_says_payments_are_unavailable_and_creates_nothing(
    client, small_menu
):
    breaker = payment_breaker()
    breaker.open()
    try:
        add_to_cart(client, small_menu.fries, 1)
        response = checkout(client)
    finally:
        breaker.close()

    assert breaker.current_state == pybreaker.STATE_CLOSED
    assert response.status_code == 503
    assert "temporarily unavailable" in response.content.decode()
    assert not Order.objects.exists()
    assert not Payment.objects.exists()
    assert len(client.session["cart"]) == 1


def test_a_customer_cancels_a_paid_order_before_preparation_and_is_refunded(
    client, small_menu, django_capture_on_commit_callbacks
):
    order, payment = _order_with_payment(small_menu)
    with django_capture_on_commit_callbacks(execute=True):
        _post(client, _event(payment))
    order.refresh_from_db()
    assert "Cancel and refund" in client.get(order.get_absolute_url()).content.decode()

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("orders:cancel", args=[order.tracking_token]), {"version": order.version}
        )

    assert response.status_code == 302
    order.refresh_from_db()
    payment.refresh_from_db()
    assert order.status == OrderStatus.REFUNDED
    assert payment.status == PaymentStatus.REFUNDED
    assert Refund.objects.get().amount_minor == payment.amount_minor
    assert (
        order.events.get(from_status=OrderStatus.PAID, to_status=OrderStatus.REFUNDED).actor_label == "guest"
    )


def test_once_the_kitchen_starts_the_customer_can_no_longer_cancel(
    client, small_menu, django_capture_on_commit_callbacks
):
    order, payment = _order_with_payment(small_menu)
    with django_capture_on_commit_callbacks(execute=True):
        _post(client, _event(payment))
    order.refresh_from_db()
    from orders.services import order_transition

    seen_version = order.version
    order_transition(
        order=order,
        to_status=OrderStatus.IN_PREPARATION,
        actor=Actor(label="chef", roles=frozenset({Role.CHEF})),
    )

    response = client.post(reverse("orders:cancel", args=[order.tracking_token]), {"version": seen_version})

    assert response.status_code == 409
    order.refresh_from_db()
    assert order.status == OrderStatus.IN_PREPARATION
    assert not Refund.objects.exists()


@pytest.mark.parametrize(
    ("amount", "currency"),
    [(1, "EUR"), (800, "USD")],
    ids=["one-cent-for-eight-euros", "right-number-wrong-currency"],
)
def test_a_signed_success_that_took_another_amount_never_pays_the_order_and_is_refunded(
    client, small_menu, actors, caplog, django_capture_on_commit_callbacks, amount, currency
):
    from tests.conftest import client_for

    # Given an order of €8.00 waiting for its payment
    order, payment = _order_with_payment(small_menu)
    assert (payment.amount_minor, payment.currency) == (800, "EUR")
    caplog.set_level(logging.WARNING, logger="orders.payments.services")

    # When the provider signs a success for another amount or currency
    body = sandbox_event_body(
        reference=payment.provider_ref, event_type=PAYMENT_SUCCEEDED, amount_minor=amount, currency=currency
    )
    with django_capture_on_commit_callbacks(execute=True):
        response = _post(client, body)

    # Then the order stays out of the kitchen, unpaid, and the customer is told
    assert response.status_code == 200
    assert response.json()["outcome"] == "amount_mismatch"
    order.refresh_from_db()
    payment.refresh_from_db()
    assert order.status == OrderStatus.AWAITING_PAYMENT
    assert not order.events.filter(to_status=OrderStatus.PAID).exists()
    # Never a confirmation (the order was not paid); the money that went back is told of, once.
    assert not any("confirmed" in message.subject for message in mail.outbox)
    assert [m.subject for m in mail.outbox if "refund" in m.subject] == [
        f"Brigade Bistro: order {order.number} refund"
    ]
    board = client_for(actors.chef).get(reverse("kitchen:board")).content.decode()
    assert f'data-order="{order.pk}"' not in board
    assert "did not match this order's total" in client.get(order.get_absolute_url()).content.decode()
    # and the managers are alerted, with what was expected and what arrived
    (alert,) = [r for r in caplog.records if r.getMessage() == "payment amount mismatch"]
    assert alert.levelno == logging.ERROR
    assert (alert.order_id, alert.expected_minor, alert.expected_currency) == (order.pk, 800, "EUR")
    assert (alert.received_minor, alert.received_currency) == (amount, currency)
    listed = client_for(actors.manager).get(
        reverse("admin:orders_payment_changelist"), {"status__exact": PaymentStatus.MISMATCHED}
    )
    page = listed.content.decode()
    assert payment.provider_ref in page and "Amount mismatch" in page
    # and what arrived goes back, once, through the provider
    assert payment.status == PaymentStatus.MISMATCHED
    refund = Refund.objects.get()
    assert (refund.amount_minor, refund.status) == (amount, RefundStatus.SUCCEEDED)
    assert (payment.refunded_minor, payment.refund_reserved_minor) == (amount, 0)


def test_a_success_without_a_currency_is_refused(client, small_menu):
    order, payment = _order_with_payment(small_menu)
    body = json.dumps(
        {"id": "evt_x", "type": PAYMENT_SUCCEEDED, "data": {"reference": payment.provider_ref, "amount": 800}}
    ).encode()

    response = _post(client, body)

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "malformed"
    order.refresh_from_db()
    assert order.status == OrderStatus.AWAITING_PAYMENT


def test_a_second_payment_for_a_paid_order_is_refunded_and_the_order_stays_paid(
    client, small_menu, django_capture_on_commit_callbacks
):
    # Given an order paid by its first checkout, and a second checkout the customer also paid
    order, first = _order_with_payment(small_menu)
    second = Payment.objects.create(
        order=order, provider="sandbox", provider_ref="sbx_second", amount_minor=800, currency="EUR"
    )
    with django_capture_on_commit_callbacks(execute=True):
        _post(client, _event(first))

    # When the second payment's success arrives
    with django_capture_on_commit_callbacks(execute=True):
        response = _post(client, _event(second))

    # Then that money goes back, and the order is still paid (the kitchen keeps cooking)
    assert response.json()["outcome"] == "refund_scheduled"
    order.refresh_from_db()
    second.refresh_from_db()
    assert order.status == OrderStatus.PAID
    assert (second.status, second.refunded_minor) == (PaymentStatus.REFUNDED, 800)
    assert Refund.objects.get().payment == second
