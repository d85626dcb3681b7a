"""The order page's progress (paid → cooking → ready → handed over) and its promised time, over HTTP."""

from __future__ import annotations

import re

import pytest

from accounts.roles import Actor
from orders.models import Order, OrderStatus
from orders.services import order_transition
from tests.orders.flows import add_to_cart, checkout

pytestmark = pytest.mark.django_db

TILL = Actor.system("test-till")
CURRENT = re.compile(r'<li class="step current" data-step="([a-z_]+)" aria-current="step">')


def _ordered(client, menu) -> Order:  # type: ignore[no-untyped-def]
    add_to_cart(client, menu.fries, 1)
    assert checkout(client).status_code == 302
    return Order.objects.get()


def _page(client, order: Order) -> str:  # type: ignore[no-untyped-def]
    response = client.get(order.get_absolute_url())
    assert response.status_code == 200
    return response.content.decode()


def test_the_step_the_order_reached_is_the_current_one_and_those_before_are_done(
    client, small_menu, actors
) -> None:
    order = _ordered(client, small_menu)
    html = _page(client, order)
    # Awaiting payment: the way is shown, no step reached yet.
    assert 'aria-label="Progress of your order"' in html
    assert CURRENT.findall(html) == []
    assert html.count("(to come)") == 4

    chef, waiter = Actor.for_user(actors.chef), Actor.for_user(actors.waiter)
    for status, step, done, actor in (
        (OrderStatus.PAID, "paid", 0, TILL),
        (OrderStatus.IN_PREPARATION, "in_preparation", 1, chef),
        (OrderStatus.READY, "ready", 2, chef),
        (OrderStatus.COMPLETED, "completed", 3, waiter),
    ):
        order = order_transition(order=order, to_status=status, actor=actor)
        html = _page(client, order)
        assert CURRENT.findall(html) == [step], status
        assert html.count('class="step done"') == done == html.count("(done)")
    assert "Handed over" in html


def test_an_order_off_the_way_hides_the_progress(client, small_menu) -> None:
    order = _ordered(client, small_menu)
    order_transition(order=order, to_status=OrderStatus.CANCELLED, actor=Actor.guest())

    html = _page(client, order)

    assert re.search(r"<ol class=\"order-progress\"[^>]* hidden>", html)


def test_the_page_shows_the_ready_time_the_kitchen_promised(client, small_menu) -> None:
    order = _ordered(client, small_menu)
    assert order.promised_at is not None

    html = _page(client, order)

    assert 'class="promised"' in html and "Ready around" in html
