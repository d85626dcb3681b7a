"""The kitchen board page: paid orders only, for chefs and managers."""

from __future__ import annotations

import pytest
from django.urls import reverse

from accounts.roles import Actor
from orders.models import Order, OrderStatus
from orders.pricing import CartLine
from orders.services import OrderDetails, order_place, order_transition
from tests.conftest import client_for

pytestmark = pytest.mark.django_db


def _order(menu, *, paid_by=None, instructions: str = "") -> Order:
    order, _ = order_place(
        lines=[CartLine(menu.fries.pk, 2)],
        details=OrderDetails(
            order_type="dine_in",
            table_number="7",
            contact_name="A",
            contact_email="a@example.test",
            special_instructions=instructions,
        ),
        actor=Actor.guest(),
    )
    if paid_by:
        order = order_transition(order=order, to_status=OrderStatus.PAID, actor=Actor.for_user(paid_by))
    return order


@pytest.mark.parametrize(
    ("who", "status"), [("chef", 200), ("manager", 200), ("waiter", 403), ("customer", 403)]
)
def test_only_chefs_and_managers_open_the_board(actors, who, status):
    assert client_for(getattr(actors, who)).get(reverse("kitchen:board")).status_code == status


def test_anonymous_visitors_are_sent_to_sign_in(client):
    response = client.get(reverse("kitchen:board"))
    assert response.status_code == 302
    assert reverse("account_login") in response["Location"]


def test_the_board_shows_paid_orders_and_never_unpaid_ones(actors, small_menu):
    unpaid = _order(small_menu)
    paid = _order(small_menu, paid_by=actors.waiter)

    page = client_for(actors.chef).get(reverse("kitchen:board")).content.decode()

    assert f'data-order="{paid.pk}"' in page
    assert f'data-order="{unpaid.pk}"' not in page
    assert "Table 7" in page


def test_special_instructions_are_shown_as_text_not_markup(actors, small_menu):
    _order(small_menu, paid_by=actors.waiter, instructions="<img src=x onerror=alert(1)>")

    page = client_for(actors.chef).get(reverse("kitchen:board")).content.decode()

    assert "<img src=x onerror=alert(1)>" not in page
    assert "&lt;img src=x onerror=alert(1)&gt;" in page


def test_a_chef_starts_bumps_and_recalls_an_order(actors, small_menu):
    order = _order(small_menu, paid_by=actors.waiter)
    chef = client_for(actors.chef)
    move = reverse("kitchen:move", args=[order.pk])

    for step, expected in [("start", "in_preparation"), ("bump", "ready"), ("recall", "in_preparation")]:
        order.refresh_from_db()
        assert chef.post(move, {"move": step, "version": order.version}).status_code == 302
        order.refresh_from_db()
        assert order.status == expected


def test_a_second_bump_of_the_same_order_is_a_conflict(actors, small_menu):
    order = _order(small_menu, paid_by=actors.waiter)
    order = order_transition(
        order=order, to_status=OrderStatus.IN_PREPARATION, actor=Actor.for_user(actors.chef)
    )
    chef = client_for(actors.chef)
    move = reverse("kitchen:move", args=[order.pk])

    first = chef.post(move, {"move": "bump", "version": order.version})
    second = chef.post(move, {"move": "bump", "version": order.version})

    assert first.status_code == 302
    assert second.status_code == 409
    assert order.events.count() == 4


def test_a_customer_cannot_move_orders(actors, small_menu):
    order = _order(small_menu, paid_by=actors.waiter)
    response = client_for(actors.customer).post(
        reverse("kitchen:move", args=[order.pk]), {"move": "start", "version": order.version}
    )
    assert response.status_code == 403
    order.refresh_from_db()
    assert order.status == OrderStatus.PAID


def test_an_unknown_move_is_refused(actors, small_menu):
    order = _order(small_menu, paid_by=actors.waiter)
    response = client_for(actors.chef).post(
        reverse("kitchen:move", args=[order.pk]), {"move": "served-cold", "version": order.version}
    )
    assert response.status_code == 400
