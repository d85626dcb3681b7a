"""My orders' "Order again": the lines still on the menu go back in the cart, the rest are named."""

from __future__ import annotations

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse

from menu.services import menu_items_set_availability
from orders.models import Order
from tests.conftest import client_for
from tests.orders.flows import add_to_cart, checkout

pytestmark = pytest.mark.django_db


def _past_order(client, menu) -> Order:  # type: ignore[no-untyped-def]
    add_to_cart(client, menu.burger, 2, [menu.medium, menu.bacon], note="no onions")
    add_to_cart(client, menu.lemonade, 1, [menu.large])
    add_to_cart(client, menu.fries, 1)
    assert checkout(client).status_code == 302
    return Order.objects.latest("pk")


def _again(client, order: Order, **headers):  # type: ignore[no-untyped-def]
    return client.post(reverse("orders:again", args=[order.tracking_token]), **headers)


def _said(response) -> list[str]:  # type: ignore[no-untyped-def]
    return [str(message) for message in get_messages(response.wsgi_request)]


def test_my_orders_offers_each_order_again(actors, small_menu) -> None:
    customer = client_for(actors.customer)
    order = _past_order(customer, small_menu)

    page = customer.get(reverse("orders:mine")).content.decode()

    assert f'action="{reverse("orders:again", args=[order.tracking_token])}"' in page
    assert "Order again" in page


def test_order_again_puts_the_lines_back_with_their_options_and_notes(actors, small_menu) -> None:
    customer = client_for(actors.customer)
    order = _past_order(customer, small_menu)
    assert customer.session.get("cart") == []

    response = _again(customer, order)

    assert response.status_code == 302 and response["Location"] == reverse("orders:cart")
    lines = {
        (line["item_id"], line["quantity"], tuple(line["option_ids"]), line["note"])
        for line in customer.session["cart"]
    }
    assert lines == {
        (small_menu.burger.pk, 2, tuple(sorted([small_menu.medium.pk, small_menu.bacon.pk])), "no onions"),
        (small_menu.lemonade.pk, 1, (small_menu.large.pk,), ""),
        (small_menu.fries.pk, 1, (), ""),
    }
    assert _said(response) == [f"Added 3 lines of order {order.number} to your cart, at today's prices."]


def test_order_again_names_what_the_menu_no_longer_sells(
    actors, small_menu, django_capture_on_commit_callbacks
) -> None:
    customer = client_for(actors.customer)
    order = _past_order(customer, small_menu)
    # Committed, as a manager's 86 is: the cart reads the menu version its commit bumps.
    with django_capture_on_commit_callbacks(execute=True):
        menu_items_set_availability(item_ids=[small_menu.fries.pk], available=False)
        small_menu.large.is_available = False
        small_menu.large.save()

    response = _again(customer, order)

    assert [line["item_id"] for line in customer.session["cart"]] == [small_menu.burger.pk]
    assert _said(response) == [
        f"Added 1 line of order {order.number} to your cart, at today's prices.",
        "No longer available: Lemonade (Large); Fries.",
    ]
    # The cart the customer lands on says it, once.
    said = "No longer available: Lemonade (Large); Fries."
    assert said in customer.get(reverse("orders:cart")).content.decode()
    assert said not in customer.get(reverse("orders:cart")).content.decode()


def test_a_dish_deleted_from_the_menu_is_named_too(actors, small_menu) -> None:
    customer = client_for(actors.customer)
    order = _past_order(customer, small_menu)
    small_menu.fries.delete()

    response = _again(customer, order)

    assert "No longer available: Fries." in _said(response)
    assert len(customer.session["cart"]) == 2


def test_nobody_orders_someone_elses_order_again(actors, small_menu, client) -> None:
    order = _past_order(client_for(actors.customer), small_menu)
    stranger = client_for(actors.other_customer)

    assert _again(stranger, order).status_code == 404
    assert stranger.session.get("cart", []) == []
    # A guest is sent to sign in; the link is not theirs to reorder from.
    guest = _again(client, order)
    assert guest.status_code == 302 and "/accounts/login/" in guest["Location"]
    assert client.session.get("cart", []) == []


@pytest.mark.parametrize("token", ["no-such-order", "x" * 500, "%00", "%3Cscript%3E"])
def test_a_made_up_order_is_a_404(actors, token) -> None:
    customer = client_for(actors.customer)

    assert customer.post(f"/orders/{token}/again/").status_code == 404
    # The order page's own door refuses such a link alike.
    assert customer.get(f"/orders/{token}/").status_code == 404
    assert customer.session.get("cart", []) == []


def test_order_again_is_a_post(actors, small_menu) -> None:
    customer = client_for(actors.customer)
    order = _past_order(customer, small_menu)

    assert customer.get(reverse("orders:again", args=[order.tracking_token])).status_code == 405
    assert customer.session.get("cart") == []
