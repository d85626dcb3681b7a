"""The `online_ordering` switch: off, the menu stays browsable but nobody orders online; the floor goes on."""

from __future__ import annotations

import json

import pytest
from django.test import Client
from django.urls import reverse
from waffle.models import Switch

from orders.cart import SessionCart
from orders.models import Order, OrderStatus
from tests.conftest import client_for
from tests.orders.flows import add_to_cart, checkout

pytestmark = pytest.mark.django_db

CLOSED = "We are not taking online orders right now"


@pytest.fixture
def flip(django_capture_on_commit_callbacks):
    def switch_to(*, active: bool) -> None:
        switch = Switch.objects.get(name="online_ordering")
        switch.active = active
        # Through the model, as admin does: waffle clears its cached copy after commit.
        with django_capture_on_commit_callbacks(execute=True):
            switch.save()

    return switch_to


def test_the_switch_exists_and_is_on_after_migrating(client, small_menu):
    assert Switch.objects.get(name="online_ordering").active is True
    assert add_to_cart(client, small_menu.fries).status_code == 302
    assert CLOSED not in client.get(reverse("menu:index")).content.decode()


def test_off_the_menu_is_browsable_with_a_banner_and_no_add_button(client, small_menu, flip):
    flip(active=False)

    menu = client.get(reverse("menu:index"))
    item = client.get(small_menu.fries.get_absolute_url())

    assert menu.status_code == 200
    assert CLOSED in menu.content.decode()
    assert "Fries" in menu.content.decode()
    assert item.status_code == 200
    assert CLOSED in item.content.decode()
    assert '<button type="submit" class="primary" disabled>Add to cart</button>' in item.content.decode()


def test_flipping_the_switch_reaches_menu_pages_already_kept_for_guests(small_menu, flip):
    # Given a guest menu page kept and validated with its ETag
    kept = Client().get(reverse("menu:index"))
    assert CLOSED not in kept.content.decode()

    # When a manager switches online ordering off
    flip(active=False)

    # Then a new visitor and a returning one both get the banner, not the kept page or a 304
    fresh = Client().get(reverse("menu:index"))
    returning = Client().get(reverse("menu:index"), HTTP_IF_NONE_MATCH=kept["ETag"])
    assert CLOSED in fresh.content.decode()
    assert returning.status_code == 200 and CLOSED in returning.content.decode()

    # And switching it on again takes the banner away as promptly
    flip(active=True)
    assert CLOSED not in Client().get(reverse("menu:index")).content.decode()


def test_off_cart_changes_and_checkout_say_so_and_change_nothing(client, small_menu, flip):
    add_to_cart(client, small_menu.fries)
    flip(active=False)

    added = add_to_cart(client, small_menu.burger, options=[small_menu.rare])
    line_id = SessionCart(client.session).lines()[0][0]
    updated = client.post(reverse("orders:cart_update"), {"line": line_id, "quantity": 4})
    removed = client.post(reverse("orders:cart_remove"), {"line": line_id})
    checkout_page = client.get(reverse("orders:checkout"))
    sent = checkout(client, token="0" * 32)

    for answer in (added, updated, removed, checkout_page, sent):
        assert answer.status_code == 503
        assert CLOSED in answer.content.decode()
        assert int(answer["Retry-After"]) > 0
    cart = SessionCart(client.session).cart_lines()
    assert [(line.item_id, line.quantity) for line in cart] == [(small_menu.fries.pk, 1)]
    assert not Order.objects.exists()
    # The cart page still shows what is in it, without a way to check out.
    page = client.get(reverse("orders:cart")).content.decode()
    assert "Fries" in page and CLOSED in page
    assert reverse("orders:checkout") not in page


def test_off_a_program_gets_503_with_the_json_error_body(client, small_menu, flip):
    flip(active=False)

    answer = client.post(
        reverse("orders:cart_add"),
        {"item": small_menu.fries.pk, "quantity": 1},
        HTTP_ACCEPT="application/json",
    )

    assert answer.status_code == 503
    assert int(answer["Retry-After"]) > 0
    error = json.loads(answer.content)["error"]
    assert error["code"] == "ordering_closed"
    assert CLOSED in error["message"]


def test_off_waiters_go_on_taking_table_orders(actors, small_menu, flip, floor_tables):
    flip(active=False)
    waiter = client_for(actors.waiter)

    assert add_to_cart(waiter, small_menu.fries).status_code == 302
    answer = checkout(waiter, order_type="dine_in", table_number="7")

    assert answer.status_code == 302
    order = Order.objects.get()
    assert order.placed_by == actors.waiter and order.table_number == "7"
    assert order.status == OrderStatus.ON_TAB  # at the kitchen, on the table's tab
    # The waiter is told online ordering is off, not that they cannot order.
    assert "Table orders on the floor go on" in waiter.get(reverse("menu:index")).content.decode()


def test_an_order_already_placed_can_still_be_paid_while_off(client, small_menu, flip):
    add_to_cart(client, small_menu.fries)
    checkout(client)
    order = Order.objects.get()
    flip(active=False)

    answer = client.post(reverse("orders:pay", kwargs={"token": order.tracking_token}))

    assert answer.status_code == 302
    assert answer["Location"].startswith("/sandbox/pay/")


def test_back_on_ordering_works_again(client, small_menu, flip):
    flip(active=False)
    assert add_to_cart(client, small_menu.fries).status_code == 503
    flip(active=True)

    assert add_to_cart(client, small_menu.fries).status_code == 302
    assert checkout(client).status_code == 302


def test_a_deleted_switch_reads_as_on(client, small_menu):
    Switch.objects.filter(name="online_ordering").delete()

    assert add_to_cart(client, small_menu.fries).status_code == 302
