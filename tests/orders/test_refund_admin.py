"""A manager refunds an order from admin, in part or in full, through the provider."""

from __future__ import annotations

import pytest
from django.urls import reverse

from accounts.roles import Actor
from orders.models import OrderStatus, Payment, PaymentStatus, Refund
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


def test_a_manager_refunds_part_then_the_rest(small_menu, actors):
    order = _paid_order(small_menu)  # 2 x 12.00
    manager = client_for(actors.manager)

    form = _refund(manager, order)
    assert "Up to <strong>€24.00</strong>" in form.content.decode()

    partial = _refund(manager, order, apply="1", amount="5.50", reason="Cold fries")
    order.refresh_from_db()
    assert partial.status_code == 302
    assert order.status == OrderStatus.PAID
    assert Payment.objects.get().status == PaymentStatus.PARTIALLY_REFUNDED
    assert "refund of €5.50: Cold fries" in order.events.last().reason

    _refund(manager, order, apply="1", amount="18.50", reason="Customer left")
    order.refresh_from_db()
    assert order.status == OrderStatus.REFUNDED
    assert Payment.objects.get().status == PaymentStatus.REFUNDED
    assert sorted(Refund.objects.values_list("amount_minor", flat=True)) == [550, 1850]
    assert order.events.last().actor == actors.manager


def test_more_than_was_paid_cannot_be_refunded(small_menu, actors):
    order = _paid_order(small_menu)

    response = _refund(client_for(actors.manager), order, apply="1", amount="30.00", reason="Too much")

    assert response.status_code == 200
    assert "Refund between" in response.content.decode()
    assert not Refund.objects.exists()


def test_only_managers_refund(small_menu, actors):
    order = _paid_order(small_menu)
    response = _refund(client_for(actors.waiter), order, apply="1", amount="5.00", reason="x")
    assert response.status_code == 302 and "/login/" in response["Location"]
    assert not Refund.objects.exists()
