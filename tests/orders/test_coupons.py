"""Coupons at checkout: priced on the server, one neutral refusal, uses counted atomically, given back
when an order ends without money kept, refunds capped at what was paid, retired when expired."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core import mail
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from accounts.roles import Actor
from orders.coupons.selectors import COUPON_REFUSED, email_normalized
from orders.coupons.services import coupon_retire_expired
from orders.models import Coupon, CouponKind, Order, OrderStatus, Payment, PaymentStatus
from orders.pacing.selectors import pacing_quote
from orders.payments.sandbox import SIGNATURE_HEADER, sandbox_event_body, sandbox_sign
from orders.payments.services import orders_expire_unpaid
from orders.pricing import CartLine
from orders.services import OrderDetails, order_place
from orders.views import COUPON_KEY
from tests.concurrency import run_simultaneously
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


def test_guessing_codes_runs_into_the_coupon_budget_and_ordering_does_not_spend_it(
    client, small_menu, settings
):
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

    assert (
        orders_expire_unpaid(now=timezone.now() + timedelta(minutes=settings.PAYMENT_TIMEOUT_MINUTES + 1))
        == 1
    )

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
    form = manager.post(
        changelist, {"action": "refund_order", "_selected_action": [order.pk]}
    ).content.decode()
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


# ---------------------------------------------------------------- the race for the last uses


def _tries(clients, when: str) -> list[object]:
    """One thread's share of the checkouts, one after another: each answer's status, or what it raised."""
    outcomes: list[object] = []
    for one in clients:
        try:
            outcomes.append(checkout(one, token=one.prepared_token, when=when).status_code)
        except Exception as error:  # noqa: BLE001 - the test counts whatever happened
            outcomes.append(error)
    return outcomes


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_hundred_simultaneous_checkouts_for_a_ten_use_coupon_make_exactly_ten_orders_with_it(small_menu):
    # Given a 10-use coupon and 100 guests, each with a cart, the code applied and a checkout form open
    CouponFactory(code="TEN-ONLY", max_uses=10)
    guests = []
    for _ in range(100):
        guest = client_for(None)
        _cart(guest, small_menu)
        assert apply_coupon(guest, "TEN-ONLY").status_code == 302
        page = guest.get(reverse("orders:checkout")).content.decode()
        guest.prepared_token = page.split('name="checkout_token" value="')[1].split('"')[0]
        guests.append(guest)

    # When they all place their orders at once (20 connections: PostgreSQL's limit is shared),
    # each thread for its own pickup slot, so that the slots' locks do not queue them first
    slots = [offer.starts_at.isoformat() for offer in pacing_quote(items=2).open_slots[:20]]
    shares = [guests[n::20] for n in range(20)]
    outcomes = [
        outcome
        for share in run_simultaneously(*(lambda n=n: _tries(shares[n], slots[n]) for n in range(20)))
        for outcome in share
    ]

    # Then exactly 10 orders carry the coupon, and the other 90 were told, placing nothing
    assert outcomes.count(302) == 10, outcomes
    assert outcomes.count(400) == 90, outcomes
    assert Order.objects.filter(coupon__code="TEN-ONLY").count() == 10
    assert Order.objects.count() == 10


# ---------------------------------------------------------------- retired when expired


def test_retiring_switches_off_the_coupons_past_their_date_returns_them_and_a_second_run_does_nothing():
    now = timezone.now()
    gone = CouponFactory(code="GONE", valid_until=now - timedelta(days=1))
    just_gone = CouponFactory(code="AT-MIDNIGHT", valid_until=now)
    CouponFactory(code="LATER", valid_until=now + timedelta(minutes=1))
    CouponFactory(code="FOREVER")
    CouponFactory(code="OFF-ALREADY", is_active=False, valid_until=now - timedelta(days=3))

    retired = coupon_retire_expired(now=now)

    assert [coupon.code for coupon in retired] == ["AT-MIDNIGHT", "GONE"]
    assert all(not coupon.is_active and coupon.retired_at == now for coupon in retired)
    assert set(Coupon.objects.filter(is_active=False).values_list("code", flat=True)) == {
        "AT-MIDNIGHT",
        "GONE",
        "OFF-ALREADY",
    }
    gone.refresh_from_db()
    just_gone.refresh_from_db()
    assert gone.retired_at == just_gone.retired_at == now
    assert coupon_retire_expired(now=now) == []


# ---------------------------------------------------------------- admin


def _coupon_form(**overrides: str) -> dict[str, str]:
    return {
        "code": "summer-25",
        "kind": "percent",
        "value": "25",
        "minimum_subtotal_minor": "0",
        "valid_from_0": "",
        "valid_from_1": "",
        "valid_until_0": "",
        "valid_until_1": "",
        "max_uses": "",
        "max_uses_per_customer": "1",
        "is_active": "on",
        **overrides,
    }


def test_a_manager_adds_a_coupon_in_admin_and_its_code_is_kept_in_capitals(actors):
    manager = client_for(actors.manager)

    added = manager.post(reverse("admin:orders_coupon_add"), _coupon_form())

    assert added.status_code == 302, added.content.decode()
    coupon = Coupon.objects.get()
    assert (coupon.code, coupon.kind, coupon.value, coupon.max_uses_per_customer) == (
        "SUMMER-25",
        "percent",
        25,
        1,
    )
    listing = manager.get(reverse("admin:orders_coupon_changelist")).content.decode()
    assert "SUMMER-25" in listing and "25% off" in listing


@pytest.mark.parametrize(
    ("overrides", "error"),
    [
        ({"code": "Summer-25"}, "That code exists already."),
        ({"code": "SUMMER 25"}, "A code is letters (A–Z), digits and dashes"),
        ({"value": "100"}, "A percentage is from 1 to 99."),
        ({"kind": "amount", "value": "500", "minimum_subtotal_minor": "500"}, "more than the amount off"),
        (
            {
                "valid_from_0": "2026-12-24",
                "valid_from_1": "10:00",
                "valid_until_0": "2026-12-24",
                "valid_until_1": "09:00",
            },
            "Valid until must be after valid from.",
        ),
        ({"show_in_banner": "on"}, "Another coupon is in the banner already"),
    ],
)
def test_admin_refuses_a_coupon_that_breaks_a_rule_with_the_rule(actors, overrides, error):
    CouponFactory(code="SUMMER-25", show_in_banner=True)
    manager = client_for(actors.manager)

    refused = manager.post(reverse("admin:orders_coupon_add"), _coupon_form(**{"code": "OTHER", **overrides}))

    assert refused.status_code == 200
    assert error in refused.content.decode()
    assert Coupon.objects.count() == 1


def test_a_used_coupon_cannot_be_deleted_in_admin_only_switched_off(client, small_menu, actors):
    coupon = CouponFactory(code="TEN")
    _ordered_with(client, small_menu, "TEN")
    manager = client_for(actors.manager)

    assert manager.get(reverse("admin:orders_coupon_delete", args=[coupon.pk])).status_code == 403
    listing = manager.get(reverse("admin:orders_coupon_changelist")).content.decode()
    assert '<td class="field-uses">1</td>' in listing


# ---------------------------------------------------------------- the banner and the demo


def test_the_demo_coupon_is_in_the_banner_of_the_kept_guest_menu_until_a_manager_switches_it_off(
    client, small_menu, actors, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        call_command("seed_demo_coupons", verbosity=0)
        call_command("seed_demo_coupons", verbosity=0)  # safe to run again
    welcome = Coupon.objects.get()
    assert (welcome.code, welcome.value, welcome.minimum_subtotal_minor, welcome.show_in_banner) == (
        "WELCOME10",
        10,
        2000,
        True,
    )
    first = client.get(reverse("menu:index"))
    again = client.get(reverse("menu:index"))  # a guest's whole page, kept per process
    banner = (
        'Use code <strong class="coupon-code">WELCOME10</strong> at checkout: '
        "10% off orders of €20.00 or more."
    )
    assert banner in first.content.decode() and banner in again.content.decode()

    with django_capture_on_commit_callbacks(execute=True):
        switched = client_for(actors.manager).post(
            reverse("admin:orders_coupon_change", args=[welcome.pk]),
            {**_coupon_form(code="WELCOME10", value="10", minimum_subtotal_minor="2000"), "is_active": ""},
        )

    assert switched.status_code == 302
    later = client.get(reverse("menu:index"), HTTP_IF_NONE_MATCH=first["ETag"])
    assert later.status_code == 200 and "WELCOME10" not in later.content.decode()


def test_a_banner_coupon_leaves_the_kept_page_and_its_etag_when_its_date_passes_without_a_save(
    client, small_menu, monkeypatch
):
    ends = timezone.now() + timedelta(hours=1)
    CouponFactory(code="LUNCH", show_in_banner=True, valid_until=ends)
    shown = client.get(reverse("menu:index"))
    assert "LUNCH" in shown.content.decode()

    # An hour later by the clock, nothing saved, the menu version unchanged:
    monkeypatch.setattr(timezone, "now", lambda: ends + timedelta(seconds=1))
    after = client.get(reverse("menu:index"), HTTP_IF_NONE_MATCH=shown["ETag"])

    assert after.status_code == 200 and "LUNCH" not in after.content.decode()
    assert after["ETag"] != shown["ETag"]


def test_a_banner_coupon_shows_on_the_checkout_page_too_and_nothing_personal_is_in_it(client, small_menu):
    CouponFactory(code="TEN", show_in_banner=True, max_uses=1)
    _cart(client, small_menu)

    page = client.get(reverse("orders:checkout")).content.decode()

    assert 'Use code <strong class="coupon-code">TEN</strong> at checkout: 10% off your order.' in page
