"""Each door calls one service for each thing it does with an order: checkout, cancel, mark paid.

The page, the floor and the admin must give the same answer for the same
order, so these go through the doors themselves (HTTP, admin actions).
"""

from __future__ import annotations

import socket

import pytest
from django.urls import reverse

from accounts.roles import Actor
from orders.models import Order, OrderEvent, OrderStatus, Payment, PaymentStatus, Refund
from orders.payments.base import PAYMENT_SUCCEEDED
from orders.payments.sandbox import SIGNATURE_HEADER, sandbox_event_body, sandbox_sign
from orders.payments.services import payment_breaker, payment_start
from orders.pricing import CartLine
from orders.services import PAID_IN_PERSON, OrderDetails, order_place
from tests.conftest import client_for
from tests.orders.flows import TOKEN_FIELD, add_to_cart, checkout, checkout_token

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("eager_tasks")]

ORDER_CHANGELIST_URL = reverse("admin:orders_order_changelist")


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def provider_down(settings):
    """Stripe as the provider, at an address where nothing answers: the first call fails."""
    settings.PAYMENT_PROVIDER = "stripe"
    settings.STRIPE_SECRET_KEY = "sk_test_brigade"
    settings.STRIPE_API_BASE = f"http://127.0.0.1:{_closed_port()}"
    payment_breaker().close()
    yield
    payment_breaker().close()


def _unpaid_order(menu) -> Order:
    order, _ = order_place(
        lines=[CartLine(menu.fries.pk, 2)],
        details=OrderDetails(order_type="pickup", contact_name="Ada", contact_email="ada@example.test"),
        actor=Actor.guest(),
    )
    return order


def _paid_online_order(client, menu, django_capture_on_commit_callbacks) -> Order:
    order = _unpaid_order(menu)
    payment_start(order=order, return_url="http://testserver" + order.get_absolute_url())
    payment = order.payments.get()
    body = sandbox_event_body(
        reference=payment.provider_ref, event_type=PAYMENT_SUCCEEDED, amount_minor=payment.amount_minor
    )
    with django_capture_on_commit_callbacks(execute=True):
        paid = client.post(
            "/webhooks/payments/sandbox/",
            data=body,
            content_type="application/json",
            headers={SIGNATURE_HEADER: sandbox_sign(body)},
        )
    assert paid.json()["outcome"] == "order_paid"
    order.refresh_from_db()
    return order


def _admin_action(client, action: str, order: Order, **extra: str):
    return client.post(ORDER_CHANGELIST_URL, {"action": action, "_selected_action": [order.pk], **extra})


# ------------------------------------------------------------------ checkout


def test_given_payments_are_down_at_checkout_then_no_order_and_the_same_form_works_later(client, small_menu):
    add_to_cart(client, small_menu.fries, 1)
    token = checkout_token(client)
    breaker = payment_breaker()
    breaker.open()
    try:
        refused = checkout(client, token)
    finally:
        breaker.close()

    assert refused.status_code == 503
    assert "we cannot take your order right now" in refused.content.decode()
    assert not Order.objects.exists()
    assert len(client.session["cart"]) == 1
    # Nothing used the token: the same form goes through once payments are back.
    assert TOKEN_FIELD.search(refused.content.decode()).group(1) == token
    placed = checkout(client, token)
    assert placed.status_code == 302
    assert Order.objects.get().status == OrderStatus.AWAITING_PAYMENT
    assert len(client.session["cart"]) == 0


def test_given_the_provider_fails_at_checkout_then_the_order_is_cancelled_the_cart_kept_and_a_retry_works(
    client, small_menu, provider_down, settings
):
    add_to_cart(client, small_menu.fries, 2)
    token = checkout_token(client)

    refused = checkout(client, token)

    assert refused.status_code == 503
    page = refused.content.decode()
    assert "we cannot take your order right now" in page
    order = Order.objects.get()
    assert order.status == OrderStatus.CANCELLED
    cancelled = order.events.get(to_status=OrderStatus.CANCELLED)
    assert (cancelled.actor_label, cancelled.reason) == (
        "system:payments",
        "payments unavailable at checkout",
    )
    assert not Payment.objects.exists()
    assert len(client.session["cart"]) == 1
    # The token made the cancelled order; the page hands out a fresh one for the next try.
    fresh = TOKEN_FIELD.search(page).group(1)
    assert fresh != token
    settings.PAYMENT_PROVIDER = "sandbox"
    again = checkout(client, fresh)
    assert again.status_code == 302
    assert Order.objects.exclude(pk=order.pk).get().payments.count() == 1
    assert len(client.session["cart"]) == 0


def test_given_a_checkout_was_sent_when_it_is_sent_again_then_the_same_order_and_the_cart_is_left_alone(
    client, small_menu
):
    add_to_cart(client, small_menu.fries, 1)
    token = checkout_token(client)
    first = checkout(client, token)
    add_to_cart(client, small_menu.fries, 1)

    second = checkout(client, token)

    order = Order.objects.get()
    assert first.status_code == second.status_code == 302
    assert second["Location"] == order.get_absolute_url()
    assert len(client.session["cart"]) == 1


# ------------------------------------------------------------------ cancel


def test_given_an_unpaid_order_when_its_customer_cancels_it_from_its_page_then_it_is_cancelled(
    client, small_menu
):
    order = _unpaid_order(small_menu)

    response = client.post(
        reverse("orders:cancel", args=[order.tracking_token]), {"version": order.version, "reason": ""}
    )

    assert response.status_code == 302
    order.refresh_from_db()
    assert order.status == OrderStatus.CANCELLED
    assert order.events.last().reason == "cancelled by customer"
    assert not Refund.objects.exists()


def test_given_a_paid_order_when_a_manager_cancels_it_on_the_floor_then_it_is_refunded_with_the_reason(
    client, small_menu, actors, django_capture_on_commit_callbacks
):
    order = _paid_online_order(client, small_menu, django_capture_on_commit_callbacks)
    manager = client_for(actors.manager)
    url = reverse("orders:floor_action", args=[order.pk])

    without_reason = manager.post(url, {"action": "cancel", "version": order.version, "reason": ""})
    with django_capture_on_commit_callbacks(execute=True):
        with_reason = manager.post(
            url, {"action": "cancel", "version": order.version, "reason": "Kitchen out of fries"}
        )

    assert without_reason.status_code == 400
    assert "Say why" in without_reason.content.decode()
    assert with_reason.status_code == 302
    order.refresh_from_db()
    assert order.status == OrderStatus.REFUNDED
    event = order.events.get(to_status=OrderStatus.REFUNDED)
    assert (event.actor, event.reason) == (actors.manager, "Kitchen out of fries")
    refund = Refund.objects.get()
    assert (refund.amount_minor, refund.reason) == (order.total_minor, "Kitchen out of fries")
    assert order.payments.get().status == PaymentStatus.REFUNDED


def test_given_a_paid_order_when_a_waiter_cancels_it_on_the_floor_then_nothing_changes(
    client, small_menu, actors, django_capture_on_commit_callbacks
):
    order = _paid_online_order(client, small_menu, django_capture_on_commit_callbacks)

    response = client_for(actors.waiter).post(
        reverse("orders:floor_action", args=[order.pk]),
        {"action": "cancel", "version": order.version, "reason": "Table left"},
    )

    assert response.status_code == 403
    order.refresh_from_db()
    assert order.status == OrderStatus.PAID
    assert not Refund.objects.exists()


def test_given_a_paid_order_when_a_manager_cancels_it_in_admin_then_it_is_refunded_like_on_the_floor(
    client, small_menu, actors, django_capture_on_commit_callbacks
):
    order = _paid_online_order(client, small_menu, django_capture_on_commit_callbacks)

    with django_capture_on_commit_callbacks(execute=True):
        response = _admin_action(
            client_for(actors.manager), "cancel_orders", order, apply="1", reason="Customer called"
        )

    assert response.status_code == 302
    order.refresh_from_db()
    assert order.status == OrderStatus.REFUNDED
    assert order.events.get(to_status=OrderStatus.REFUNDED).reason == "Customer called"
    assert Refund.objects.get().amount_minor == order.total_minor


# ------------------------------------------------------------------ mark paid


def test_payment_taken_at_the_table_and_at_the_till_write_the_same_audit_reason(small_menu, actors):
    at_table, at_till = _unpaid_order(small_menu), _unpaid_order(small_menu)

    floor = client_for(actors.waiter).post(
        reverse("orders:floor_action", args=[at_table.pk]), {"action": "paid", "version": at_table.version}
    )
    till = _admin_action(client_for(actors.manager), "record_payment_at_till", at_till)

    assert floor.status_code == till.status_code == 302
    paid = OrderEvent.objects.filter(to_status=OrderStatus.PAID).order_by("order_id")
    assert [(event.order_id, event.actor, event.reason) for event in paid] == [
        (at_table.pk, actors.waiter, PAID_IN_PERSON),
        (at_till.pk, actors.manager, PAID_IN_PERSON),
    ]
    assert set(Order.objects.values_list("status", flat=True)) == {OrderStatus.PAID}
