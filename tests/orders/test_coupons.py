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


@pytest.mark.parametrize(
    ("code", "error"),
    [
        ("W" * 10_000, "A code is letters (A–Z), digits and dashes"),
        ("WELCOME１０", "A code is letters (A–Z), digits and dashes"),
        ("straße", "A code is letters (A–Z), digits and dashes"),
        ("WELCOME10\n", None),  # a trailing line break is trimmed like any space: the code applies
        ("WEL COME", "A code is letters (A–Z), digits and dashes"),
        ("", "Enter a code."),
        ("   ", "Enter a code."),
        ("WEL\x00COME", "Null characters are not allowed."),
    ],
)
def test_what_cannot_be_a_code_is_a_form_error_and_the_applied_code_stays(client, small_menu, code, error):
    CouponFactory(code="WELCOME10")
    CouponFactory(code="TEN")
    _cart(client, small_menu)
    apply_coupon(client, "TEN")

    answer = apply_coupon(client, code)

    if error is None:
        assert answer.status_code == 302 and client.session[COUPON_KEY] == "WELCOME10"
        return
    assert answer.status_code == 400
    assert error in answer.content.decode()
    assert client.session[COUPON_KEY] == "TEN"
    assert Order.objects.count() == 0


def test_an_unexpected_field_beside_the_code_is_refused(client, small_menu):
    CouponFactory(code="TEN")
    _cart(client, small_menu)

    answer = client.post(reverse("orders:checkout_coupon"), {"code": "TEN", "discount_minor": "2400"})

    assert answer.status_code == 400
    assert "does not accept the field(s): discount_minor" in answer.content.decode()
    assert COUPON_KEY not in client.session


def test_a_code_sent_with_the_checkout_form_itself_is_refused_and_places_nothing(client, small_menu):
    CouponFactory(code="TEN")
    _cart(client, small_menu)

    answer = checkout(client, code="TEN")

    assert answer.status_code == 400
    assert "does not accept the field(s): code" in answer.content.decode()
    assert Order.objects.count() == 0


def test_guessing_codes_runs_into_the_coupon_budget_and_ordering_does_not_spend_it(client, small_menu, settings):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "coupon": "3/m/session,100/m/ip"}
    CouponFactory(code="REAL")
    _cart(client, small_menu)
    client.session.save()

    guesses = [apply_coupon(client, f"GUESS{n}").status_code for n in range(3)]
    refused = apply_coupon(client, "REAL")

    assert guesses == [400, 400, 400]
    assert refused.status_code == 429 and int(refused["Retry-After"]) > 0
    assert COUPON_KEY not in client.session
    # Placing orders is another door with its own budget.
    assert checkout(client).status_code == 302


# ---------------------------------------------------------------- per customer


def test_a_signed_in_customer_uses_a_once_per_customer_code_once_even_as_a_guest(small_menu, actors):
    CouponFactory(code="ONCE", max_uses_per_customer=1)
    carla = client_for(actors.customer)
    first = _ordered_with(carla, small_menu, "ONCE", contact_email="carla.other@example.test")
    assert first.coupon_code == "ONCE"

    # Signed in again: refused at once, whatever email the order would carry.
    _cart(carla, small_menu)
    assert apply_coupon(carla, "ONCE").status_code == 400

    # Signed out, as a guest with the address of her first order: the code applies to the cart,
    # but the order is refused when placed, with the same words, and the page shows the full total.
    guest = client_for(None)
    _cart(guest, small_menu)
    assert apply_coupon(guest, "once").status_code == 302
    refused = checkout(guest, contact_email="Carla.Other+again@Example.test")
    assert refused.status_code == 400
    page = refused.content.decode()
    assert COUPON_REFUSED in page and "Place order · €24.00" in page
    assert Order.objects.count() == 1
    assert COUPON_KEY not in guest.session
    # Sent again, knowingly at the full price, it is placed.
    assert checkout(guest, contact_email="carla.other@example.test").status_code == 302
    assert Order.objects.latest("pk").discount_minor == 0


def test_guests_are_one_customer_per_email_without_case_or_tag(client, small_menu):
    CouponFactory(code="ONCE", max_uses_per_customer=1)
    _ordered_with(client, small_menu, "ONCE", contact_email="ada+lunch@Example.test")

    other_browser = client_for(None)
    _cart(other_browser, small_menu)
    apply_coupon(other_browser, "ONCE")

    assert checkout(other_browser, contact_email="ADA@example.test").status_code == 400
    assert email_normalized(" Ada+Lunch@Example.TEST ") == "ada@example.test"


# ---------------------------------------------------------------- uses given back


def test_a_cancelled_unpaid_order_gives_its_use_back(client, small_menu):
    CouponFactory(code="LAST", max_uses=1)
    order = _ordered_with(client, small_menu, "LAST")
    other = client_for(None)
    _cart(other, small_menu)
    assert apply_coupon(other, "LAST").status_code == 400

    cancelled = client.post(reverse("orders:cancel", args=[order.tracking_token]), {"version": order.version})

    assert cancelled.status_code == 302
    assert apply_coupon(other, "LAST").status_code == 302
    assert checkout(other, contact_email="bea@example.test").status_code == 302
    assert Order.objects.latest("pk").coupon_code == "LAST"


def test_an_unpaid_order_that_expires_gives_its_use_back(client, small_menu, settings):
    CouponFactory(code="LAST", max_uses=1)
    order = _ordered_with(client, small_menu, "LAST")

    assert orders_expire_unpaid(now=timezone.now() + timedelta(minutes=settings.PAYMENT_TIMEOUT_MINUTES + 1)) == 1

    order.refresh_from_db()
    assert order.status == OrderStatus.CANCELLED
    other = client_for(None)
    assert _ordered_with(other, small_menu, "LAST", contact_email="bea@example.test").coupon_code == "LAST"


def test_a_paid_order_cancelled_by_its_customer_is_refunded_and_gives_its_use_back(
    client, small_menu, django_capture_on_commit_callbacks
):
    CouponFactory(code="LAST", max_uses=1)
    order = _ordered_with(client, small_menu, "LAST")
    _paid_through_the_webhook(client, order)
    order.refresh_from_db()

    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("orders:cancel", args=[order.tracking_token]), {"version": order.version})

    order.refresh_from_db()
    assert order.status == OrderStatus.REFUNDED
    assert order.payments.get().refunded_minor == 2160  # what was paid, not the 24.00 before the discount
    other = client_for(None)
    assert _ordered_with(other, small_menu, "LAST", contact_email="bea@example.test").coupon_code == "LAST"


# ---------------------------------------------------------------- refunds capped at what was paid


def _admin_refund(manager, order, amount: str):
    changelist = reverse("admin:orders_order_changelist")
    form = manager.post(changelist, {"action": "refund_order", "_selected_action": [order.pk]}).content.decode()
    token = form.split('name="token" value="')[1].split('"')[0]
    return manager.post(
        changelist,
        {
            "action": "refund_order",
            "_selected_action": [order.pk],
            "apply": "1",
            "amount": amount,
            "reason": "Cold food",
            "token": token,
        },
    )


def test_a_refund_of_a_discounted_order_is_capped_at_what_was_paid(client, small_menu, actors):
    CouponFactory(code="TEN", value=10)
    order = _ordered_with(client, small_menu, "TEN")
    _paid_through_the_webhook(client, order)
    manager = client_for(actors.manager)

    too_much = _admin_refund(manager, order, "24.00")  # the price before the discount

    assert too_much.status_code == 200
    assert "Refund between €0.01 and €21.60." in too_much.content.decode()
    assert order.payments.get().refunded_minor == 0

    assert _admin_refund(manager, order, "21.60").status_code == 302
    payment = order.payments.get()
    order.refresh_from_db()
    assert (payment.refunded_minor, payment.status, order.status) == (
        2160,
        PaymentStatus.REFUNDED,
        OrderStatus.REFUNDED,
    )
