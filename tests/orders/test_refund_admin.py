"""A manager refunds an order from admin, in part or in full, through the provider."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from accounts.roles import Actor
from orders.models import (
    OrderEventKind,
    OrderStatus,
    Payment,
    PaymentStatus,
    Refund,
    RefundStatus,
)
from orders.payments.services import payment_start
from orders.pricing import CartLine
from orders.services import OrderDetails, order_place, order_transition
from tests.conftest import client_for

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("eager_tasks")]


def _paid_order(menu):
    order, _ = order_place(
        lines=[CartLine(menu.burger.pk, 2, (menu.medium.pk,))],
        details=OrderDetails(order_type="pickup", contact_name="Ada", contact_email="ada@example.test"),
        actor=Actor.guest(),
    )
    payment_start(order=order, return_url="http://testserver/")
    Payment.objects.update(status=PaymentStatus.SUCCEEDED)
    return order_transition(order=order, to_status=OrderStatus.PAID, actor=Actor.system("payments"))


def _refund(client, order, **data):
    return client.post(
        reverse("admin:orders_order_changelist"),
        {"action": "refund_order", "_selected_action": [order.pk], **data},
    )


def _form_token(client, order) -> str:
    """Opens the refund form as a manager does, and reads its one-time token."""
    page = _refund(client, order).content.decode()
    return re.search(r'name="token" value="([0-9a-f-]{36})"', page).group(1)


def test_a_manager_refunds_part_then_the_rest(small_menu, actors):
    order = _paid_order(small_menu)  # 2 x 12.00
    manager = client_for(actors.manager)

    form = _refund(manager, order)
    assert "Up to <strong>€24.00</strong>" in form.content.decode()

    partial = _refund(
        manager, order, apply="1", amount="5.50", reason="Cold fries", token=_form_token(manager, order)
    )
    order.refresh_from_db()
    assert partial.status_code == 302
    assert order.status == OrderStatus.PAID
    assert Payment.objects.get().status == PaymentStatus.PARTIALLY_REFUNDED
    requested, confirmed = order.events.exclude(kind=OrderEventKind.STATUS_CHANGED)
    assert (requested.kind, requested.actor, requested.to_status) == (
        OrderEventKind.REFUND_REQUESTED,
        actors.manager,
        "",
    )
    assert requested.data["amount_minor"] == 550 and requested.data["currency"] == "EUR"
    assert confirmed.kind == OrderEventKind.REFUND_SUCCEEDED
    assert "refund of €5.50: Cold fries" in confirmed.reason
    assert confirmed.data["provider_ref"] == Refund.objects.get().provider_ref

    _refund(
        manager, order, apply="1", amount="18.50", reason="Customer left", token=_form_token(manager, order)
    )
    order.refresh_from_db()
    assert order.status == OrderStatus.REFUNDED
    assert Payment.objects.get().status == PaymentStatus.REFUNDED
    assert sorted(Refund.objects.values_list("amount_minor", flat=True)) == [550, 1850]
    assert set(Refund.objects.values_list("status", flat=True)) == {RefundStatus.SUCCEEDED}
    assert order.events.get(to_status=OrderStatus.REFUNDED).actor == actors.manager


def test_the_same_refund_form_posted_twice_refunds_once(small_menu, actors):
    # Given a manager's refund form for 0.01, sent (a double click, a reload)
    order = _paid_order(small_menu)
    manager = client_for(actors.manager)
    token = _form_token(manager, order)
    first = _refund(manager, order, apply="1", amount="0.01", reason="Sorry", token=token)

    # When the very same form arrives again
    second = _refund(manager, order, apply="1", amount="0.01", reason="Sorry", token=token)

    # Then one cent went back, once, and the manager is told why nothing more happened
    assert (first.status_code, second.status_code) == (302, 302)
    payment = Payment.objects.get()
    assert Refund.objects.count() == 1
    assert (payment.refunded_minor, payment.refund_reserved_minor) == (1, 0)
    followed = manager.get(second["Location"]).content.decode()
    assert "This refund form was sent before" in followed


def test_a_refund_form_without_its_token_refunds_nothing(small_menu, actors):
    order = _paid_order(small_menu)

    response = _refund(client_for(actors.manager), order, apply="1", amount="1.00", reason="Sorry")

    assert response.status_code == 200
    assert "open it again" in response.content.decode()
    assert not Refund.objects.exists()


def test_more_than_was_paid_cannot_be_refunded(small_menu, actors):
    order = _paid_order(small_menu)
    manager = client_for(actors.manager)

    response = _refund(
        manager, order, apply="1", amount="30.00", reason="Too much", token=_form_token(manager, order)
    )

    assert response.status_code == 200
    assert "Refund between" in response.content.decode()
    assert not Refund.objects.exists()
    assert Payment.objects.get().refund_reserved_minor == 0


def test_only_managers_refund(small_menu, actors):
    order = _paid_order(small_menu)
    token = "6f1c2f8e-8a55-4c0e-9a55-2d4b1b7f3c11"
    response = _refund(client_for(actors.waiter), order, apply="1", amount="5.00", reason="x", token=token)
    assert response.status_code == 302 and "/login/" in response["Location"]
    assert not Refund.objects.exists()
