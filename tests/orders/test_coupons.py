"""Coupons at checkout: priced on the server, one neutral refusal, uses counted atomically, given back
when an order ends without money kept, refunds capped at what was paid, retired when expired."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from accounts.roles import Actor
from orders.coupons.selectors import COUPON_REFUSED, email_normalized
from orders.coupons.services import coupon_retire_expired
from orders.models import Coupon, CouponKind, Order, OrderStatus, Payment, PaymentStatus
from orders.payments.sandbox import SIGNATURE_HEADER, sandbox_event_body, sandbox_sign
from orders.payments.services import orders_expire_unpaid
from orders.pricing import CartLine
from orders.services import OrderDetails, order_place
from orders.views import COUPON_KEY
from tests.conftest import client_for
from tests.factories import CouponFactory
from tests.orders.flows import add_to_cart, apply_coupon, checkout

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("eager_tasks", "rush_limits_lifted")]


def _cart(client, menu, burgers: int = 2):
    """Two burgers (medium): a 24.00 subtotal."""
    add_to_cart(client, menu.burger, burgers, [menu.medium])


def _paid_through_the_webhook(client, order: Order) -> None:
    payment = order.payments.get()
    body = sandbox_event_body(
        reference=payment.provider_ref, event_type="payment.succeeded", amount_minor=payment.amount_minor
    )
    answer = client.post(
        "/webhooks/payments/sandbox/",
        data=body,
        content_type="application/json",
        headers={SIGNATURE_HEADER: sandbox_sign(body)},
    )
    assert answer.json()["outcome"] == "order_paid", answer.content


def _ordered_with(client, menu, code: str, **details: object) -> Order:
    _cart(client, menu)
    assert apply_coupon(client, code).status_code == 302
    assert checkout(client, **details).status_code == 302
    return Order.objects.latest("pk")


# ---------------------------------------------------------------- applied and paid


def test_a_guest_applies_a_code_in_any_case_and_pays_the_discounted_total(
    client, small_menu, django_capture_on_commit_callbacks
):
    CouponFactory(code="WELCOME10", value=10, minimum_subtotal_minor=2000)
    _cart(client, small_menu)

    applied = apply_coupon(client, "welcome10")
    page = client.get(reverse("orders:checkout")).content.decode()

    assert applied.status_code == 302 and applied["Location"] == reverse("orders:checkout")
    assert "Discount (WELCOME10)" in page and "−€2.40" in page
    assert "Place order · €21.60" in page

    to_provider = checkout(client)
    order = Order.objects.get()
    assert to_provider.status_code == 302
    assert (order.subtotal_minor, order.discount_minor, order.total_minor) == (2400, 240, 2160)
    assert (order.coupon.code, order.coupon_code) == ("WELCOME10", "WELCOME10")
    # The provider is asked for the discounted total, and the cart's code is used up with the cart.
    assert Payment.objects.get().amount_minor == 2160
    assert COUPON_KEY not in client.session

    with django_capture_on_commit_callbacks(execute=True):
        _paid_through_the_webhook(client, order)
    order_page = client.get(order.get_absolute_url()).content.decode()
    assert "Discount (WELCOME10)" in order_page and "−€2.40" in order_page and "€21.60" in order_page
    (confirmation,) = mail.outbox
    assert "Discount (WELCOME10): -€2.40" in confirmation.body and "Total: €21.60" in confirmation.body


def test_an_amount_off_and_a_percentage_are_priced_on_the_server_rounded_half_up(client, small_menu):
    CouponFactory(code="FIVE", kind=CouponKind.AMOUNT, value=500, minimum_subtotal_minor=1000)
    CouponFactory(code="TEN", value=10)

    order = _ordered_with(client, small_menu, "five")
    assert (order.discount_minor, order.total_minor) == (500, 1900)

    # 10% of 13.25 is 1.325: rounded half up, 1.33.
    add_to_cart(client, small_menu.burger, 1, [small_menu.medium, small_menu.egg])  # 13.25
    apply_coupon(client, "TEN")
    checkout(client)
    order = Order.objects.latest("pk")
    assert (order.subtotal_minor, order.discount_minor, order.total_minor) == (1325, 133, 1192)


def test_the_order_admin_shows_the_discount_line(client, small_menu, actors):
    CouponFactory(code="TEN", value=10)
    order = _ordered_with(client, small_menu, "TEN")

    page = client_for(actors.manager).get(reverse("admin:orders_order_change", args=[order.pk]))

    html = page.content.decode()
    assert page.status_code == 200
    assert "−€2.40" in html and "TEN" in html and "€21.60" in html


# ---------------------------------------------------------------- one neutral refusal


def _placed_by_someone_else(menu, coupon: Coupon, email: str = "someone.else@example.test") -> Order:
    order, _ = order_place(
        lines=[CartLine(menu.burger.pk, 2, (menu.medium.pk,))],
        details=OrderDetails(order_type="pickup", contact_name="Someone", contact_email=email),
        actor=Actor.guest(),
        coupon_code=coupon.code,
    )
    return order


def _refusals(menu, now):
    return {
        "unknown": lambda: None,
        "switched off": lambda: CouponFactory(code="REFUSED", is_active=False),
        "expired": lambda: CouponFactory(code="REFUSED", valid_until=now - timedelta(minutes=1)),
        "not yet valid": lambda: CouponFactory(code="REFUSED", valid_from=now + timedelta(hours=1)),
        "below its minimum": lambda: CouponFactory(code="REFUSED", minimum_subtotal_minor=2401),
        "used up": lambda: _placed_by_someone_else(menu, CouponFactory(code="REFUSED", max_uses=1)),
    }


@pytest.mark.parametrize(
    "reason", ["unknown", "switched off", "expired", "not yet valid", "below its minimum", "used up"]
)
def test_every_code_that_does_not_apply_gets_the_same_answer_and_changes_nothing(client, small_menu, reason):
    _refusals(small_menu, timezone.now())[reason]()
    _cart(client, small_menu)

    refused = apply_coupon(client, "refused")

    assert refused.status_code == 400
    assert COUPON_REFUSED in refused.content.decode()
    assert COUPON_KEY not in client.session
    json_refused = apply_coupon(client, "refused", HTTP_ACCEPT="application/json")
    assert json_refused.status_code == 400
    assert json_refused.json()["error"]["code"] == "coupon_refused"
    assert json_refused.json()["error"]["message"] == COUPON_REFUSED
