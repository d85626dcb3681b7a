"""The Stripe adapter, against a local stand-in for Stripe's API and Stripe-signed events."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

import pytest
from django.core import mail

from accounts.roles import Actor
from orders.models import (
    Coupon,
    CouponKind,
    OrderEventKind,
    OrderStatus,
    Payment,
    PaymentStatus,
    RefundStatus,
)
from orders.payments.services import PaymentsUnavailable, payment_breaker, payment_refund, payment_start
from orders.pricing import CartLine
from orders.services import OrderDetails, order_place

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("eager_tasks")]

WEBHOOK_SECRET = "whsec_test_brigade"
SESSION_ID = "cs_test_a1b2c3"


class FakeStripe:
    """Answers the three Stripe API calls Brigade makes, and remembers them.

    Refunds behave as Stripe's do: each new one gets its own id, and a request
    repeating an Idempotency-Key gets the first answer again without a second
    refund. `refunds` is what Stripe paid out: one entry per refund made.
    """

    def __init__(self) -> None:
        self.requests: list[tuple[str, str, dict[str, list[str]], dict[str, str]]] = []
        self.fail = False
        self.refuse_refunds = False
        # Make the refund, then hang up before answering: Brigade cannot know it was made.
        self.lose_refund_answers = 0
        self.refunds: list[dict] = []
        self._answers: dict[str, dict] = {}
        self._lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def _answer(self, status: int, body: dict) -> None:
                raw = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

            def _record(self) -> dict[str, list[str]]:
                length = int(self.headers.get("Content-Length") or 0)
                params = parse_qs(self.rfile.read(length).decode()) if length else {}
                fake.requests.append((self.command, self.path, params, dict(self.headers)))
                return params

            def do_POST(self) -> None:
                params = self._record()
                if fake.fail:
                    return self._answer(500, {"error": {"type": "api_error", "message": "down"}})
                if self.path == "/v1/checkout/sessions":
                    return self._answer(
                        200,
                        {
                            "id": SESSION_ID,
                            "object": "checkout.session",
                            "url": f"https://checkout.stripe.test/c/pay/{SESSION_ID}",
                            "payment_intent": None,
                        },
                    )
                if self.path == "/v1/refunds":
                    if fake.refuse_refunds:
                        return self._answer(
                            400, {"error": {"type": "invalid_request_error", "message": "charge disputed"}}
                        )
                    refund = fake.refund(params, self.headers.get("Idempotency-Key"))
                    if fake.lose_refund_answer():
                        self.close_connection = True
                        return None
                    return self._answer(200, refund)
                return self._answer(404, {"error": {"type": "invalid_request_error"}})

            def do_GET(self) -> None:
                self._record()
                if self.path.startswith(f"/v1/checkout/sessions/{SESSION_ID}"):
                    return self._answer(
                        200, {"id": SESSION_ID, "object": "checkout.session", "payment_intent": "pi_test_9"}
                    )
                return self._answer(404, {"error": {"type": "invalid_request_error"}})

        return Handler

    def refund(self, params: dict[str, list[str]], key: str | None) -> dict:
        with self._lock:
            if key is not None and key in self._answers:
                return self._answers[key]
            refund = {
                "id": f"re_test_{len(self.refunds) + 1}",
                "object": "refund",
                "amount": int(params["amount"][0]),
                "payment_intent": params["payment_intent"][0],
            }
            self.refunds.append(refund)
            if key is not None:
                self._answers[key] = refund
            return refund

    def lose_refund_answer(self) -> bool:
        with self._lock:
            if self.lose_refund_answers <= 0:
                return False
            self.lose_refund_answers -= 1
            return True

    @property
    def refunded_minor(self) -> int:
        with self._lock:
            return sum(refund["amount"] for refund in self.refunds)


@pytest.fixture
def fake_stripe(settings) -> Iterator[FakeStripe]:
    fake = FakeStripe()
    settings.PAYMENT_PROVIDER = "stripe"
    settings.STRIPE_SECRET_KEY = "sk_test_brigade"
    settings.STRIPE_WEBHOOK_SECRET = WEBHOOK_SECRET
    settings.STRIPE_API_BASE = fake.url
    payment_breaker().close()
    yield fake
    payment_breaker().close()
    fake.server.shutdown()


def _order(menu):
    order, _ = order_place(
        lines=[CartLine(menu.burger.pk, 2, (menu.medium.pk,)), CartLine(menu.fries.pk, 1)],
        details=OrderDetails(order_type="pickup", contact_name="Ada", contact_email="ada@example.test"),
        actor=Actor.guest(),
    )
    return order


def stripe_signature(payload: bytes, *, secret: str = WEBHOOK_SECRET, timestamp: int | None = None) -> str:
    """Signs like Stripe: t=<time>,v1=HMAC-SHA256(secret, "<time>.<payload>"), written out here on purpose."""
    timestamp = int(time.time()) if timestamp is None else timestamp
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + payload, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def completed_event(
    *, session_id: str = SESSION_ID, amount: int = 2800, currency: str = "eur", event_id: str = "evt_test_1"
) -> bytes:
    return json.dumps(
        {
            "id": event_id,
            "object": "event",
            "type": "checkout.session.completed",
            "data": {
                "object": {
                    "id": session_id,
                    "object": "checkout.session",
                    "payment_status": "paid",
                    "amount_total": amount,
                    "currency": currency,
                }
            },
        }
    ).encode()


def test_checkout_is_created_at_stripe_with_server_prices_and_an_idempotency_key(fake_stripe, small_menu):
    order = _order(small_menu)

    session = payment_start(order=order, return_url="https://brigade.example" + order.get_absolute_url())

    assert session.redirect_url == f"https://checkout.stripe.test/c/pay/{SESSION_ID}"
    method, path, params, headers = fake_stripe.requests[-1]
    assert (method, path) == ("POST", "/v1/checkout/sessions")
    assert headers["Authorization"] == "Bearer sk_test_brigade"
    assert headers["Idempotency-Key"] == f"order-{order.pk}-attempt-1"
    assert params["line_items[0][price_data][unit_amount]"] == ["1200"]
    assert params["line_items[0][quantity]"] == ["2"]
    assert params["line_items[1][price_data][unit_amount]"] == ["400"]
    assert params["line_items[0][price_data][currency]"] == ["eur"]
    assert Payment.objects.get().provider_ref == SESSION_ID


def test_a_stripe_signed_event_marks_the_order_paid(
    client, fake_stripe, small_menu, django_capture_on_commit_callbacks
):
    order = _order(small_menu)
    payment_start(order=order, return_url="https://brigade.example/")
    payload = completed_event()

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            "/webhooks/payments/stripe/",
            data=payload,
            content_type="application/json",
            headers={"Stripe-Signature": stripe_signature(payload)},
        )

    assert response.status_code == 200, response.content
    order.refresh_from_db()
    assert order.status == OrderStatus.PAID
    assert len(mail.outbox) == 1


@pytest.mark.parametrize(
    ("tamper", "code"),
    [
        (lambda p: (p.replace(b'"paid"', b'"unpaid"'), stripe_signature(p)), "bad_signature"),
        (lambda p: (p, stripe_signature(p, secret="whsec_someone_else")), "bad_signature"),
        (lambda p: (p, stripe_signature(p, timestamp=int(time.time()) - 3600)), "stale_timestamp"),
        (lambda p: (p, stripe_signature(p, timestamp=int(time.time()) + 3600)), "future_timestamp"),
    ],
    ids=["tampered-payload", "wrong-secret", "stale", "far-future"],
)
def test_the_stripe_adapter_refuses_what_stripe_did_not_sign_recently(
    client, fake_stripe, small_menu, tamper, code
):
    order = _order(small_menu)
    payment_start(order=order, return_url="https://brigade.example/")
    payload, signature = tamper(completed_event())

    response = client.post(
        "/webhooks/payments/stripe/",
        data=payload,
        content_type="application/json",
        headers={"Stripe-Signature": signature},
    )

    assert response.status_code == 400
    assert response.json()["error"]["code"] == code
    order.refresh_from_db()
    assert order.status == OrderStatus.AWAITING_PAYMENT


def test_a_refund_goes_through_stripe_with_the_payment_intent(fake_stripe, small_menu, actors):
    order = _order(small_menu)
    payment_start(order=order, return_url="https://brigade.example/")
    Payment.objects.update(status=PaymentStatus.SUCCEEDED)

    refund, _ = payment_refund(
        payment_id=Payment.objects.get().pk,
        amount_minor=500,
        actor=Actor.for_user(actors.manager),
        reason="cold fries",
        idempotency_key="admin-test-1",
    )

    method, path, params, headers = fake_stripe.requests[-1]
    assert (method, path) == ("POST", "/v1/refunds")
    assert params == {"payment_intent": ["pi_test_9"], "amount": ["500"]}
    assert headers["Idempotency-Key"] == "admin-test-1"
    assert (refund.status, refund.provider_ref) == (RefundStatus.SUCCEEDED, "re_test_1")
    assert Payment.objects.get().status == PaymentStatus.PARTIALLY_REFUNDED
    confirmed = order.events.last()
    assert (confirmed.kind, confirmed.data["provider_ref"]) == (OrderEventKind.REFUND_SUCCEEDED, "re_test_1")
    assert "refund of €5.00: cold fries" in confirmed.reason


def test_a_failing_provider_opens_the_circuit_and_later_calls_fail_fast(fake_stripe, small_menu, settings):
    order = _order(small_menu)
    fake_stripe.fail = True

    for _ in range(settings.PAYMENT_BREAKER_FAIL_MAX):
        with pytest.raises(PaymentsUnavailable):
            payment_start(order=order, return_url="https://brigade.example/")
    calls_while_closed = len(fake_stripe.requests)
    with pytest.raises(PaymentsUnavailable):
        payment_start(order=order, return_url="https://brigade.example/")

    assert len(fake_stripe.requests) == calls_while_closed  # the open circuit never called Stripe
    assert not Payment.objects.exists()


def test_a_stripe_session_paid_in_another_currency_is_refunded_and_never_pays_the_order(
    client, fake_stripe, small_menu, django_capture_on_commit_callbacks
):
    order = _order(small_menu)
    payment_start(order=order, return_url="https://brigade.example/")
    payload = completed_event(amount=2800, currency="usd")

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            "/webhooks/payments/stripe/",
            data=payload,
            content_type="application/json",
            headers={"Stripe-Signature": stripe_signature(payload)},
        )

    assert response.json()["outcome"] == "amount_mismatch"
    order.refresh_from_db()
    payment = Payment.objects.get()
    assert order.status == OrderStatus.AWAITING_PAYMENT
    assert (payment.status, payment.received_minor, payment.received_currency) == (
        PaymentStatus.MISMATCHED,
        2800,
        "USD",
    )
    assert [refund["amount"] for refund in fake_stripe.refunds] == [2800]
    # Never a confirmation (the order was not paid); the money that went back is told of, once.
    assert not any("confirmed" in message.subject for message in mail.outbox)
    assert [m.subject for m in mail.outbox if "refund" in m.subject] == [
        f"Brigade Bistro: order {order.number} refund"
    ]


def test_a_discounted_order_is_one_line_of_its_total_at_stripe(fake_stripe, small_menu):
    # Stripe takes no negative line: the amount it charges must be the order's total after the discount.
    Coupon.objects.create(code="TEN", kind=CouponKind.PERCENT, value=10)
    order, _ = order_place(
        lines=[CartLine(small_menu.burger.pk, 2, (small_menu.medium.pk,)), CartLine(small_menu.fries.pk, 1)],
        details=OrderDetails(order_type="pickup", contact_name="Ada", contact_email="ada@example.test"),
        actor=Actor.guest(),
        coupon_code="ten",
    )

    payment_start(order=order, return_url="http://testserver/")

    _method, _path, params, _headers = fake_stripe.requests[-1]
    assert order.total_minor == 2520
    assert params["line_items[0][price_data][unit_amount]"] == ["2520"]
    assert params["line_items[0][quantity]"] == ["1"]
    assert params["line_items[0][price_data][product_data][name]"] == [
        f"Order #{order.pk} (code TEN: -€2.80)"
    ]
    assert "line_items[1][quantity]" not in params
