"""The cart prices against the cached menu: no menu row read per page, a committed change seen at
once, and the order still placed at the price the database has when it is placed."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.roles import Actor
from menu.money import format_money
from menu.pantry.services import stock_count
from menu.services import menu_items_set_availability
from orders.models import Order
from tests.orders.flows import add_to_cart, checkout, checkout_token

pytestmark = pytest.mark.django_db

JSON = {"HTTP_ACCEPT": "application/json"}


def _add_as_a_program(client, item, options=()):  # type: ignore[no-untyped-def]
    data: dict[str, object] = {"item": item.pk, "quantity": 1}
    for option in options:
        data[f"mod-{option.group_id}"] = [option.pk]
    return client.post(reverse("orders:cart_add"), data, **JSON)


def _menu_reads(captured: CaptureQueriesContext) -> list[str]:
    return [query["sql"] for query in captured.captured_queries if '"menu_' in query["sql"]]


def test_the_cart_and_checkout_pages_read_no_menu_row_once_the_menu_is_cached(client, small_menu):
    assert add_to_cart(client, small_menu.fries, 1).status_code == 302  # the menu is cached from here on

    with CaptureQueriesContext(connection) as captured:
        added = add_to_cart(client, small_menu.burger, 2, [small_menu.medium, small_menu.bacon])
        line = client.session["cart"][1]
        updated = client.post(reverse("orders:cart_update"), {"line": line["id"], "quantity": 3})
        cart = client.get(reverse("orders:cart"))
        page = client.get(reverse("orders:checkout"))

    assert [added.status_code, updated.status_code, cart.status_code, page.status_code] == [
        302,
        302,
        200,
        200,
    ]
    assert _menu_reads(captured) == []
    # Fries 4.00 + 3 × (burger 12.00 + bacon 2.00)
    assert format_money(400 + 3 * 1400) in page.content.decode()


def test_a_price_change_and_an_86_show_in_the_cart_as_soon_as_they_commit(
    client, small_menu, django_capture_on_commit_callbacks
):
    assert add_to_cart(client, small_menu.fries, 2).status_code == 302
    assert client.get(reverse("orders:cart")).context["subtotal_minor"] == 800

    with django_capture_on_commit_callbacks(execute=True):
        small_menu.fries.price_minor = 450
        small_menu.fries.save()
    cart = client.get(reverse("orders:cart"))
    assert cart.context["subtotal_minor"] == 900
    assert format_money(900) in cart.content.decode()

    with django_capture_on_commit_callbacks(execute=True):
        menu_items_set_availability(item_ids=[small_menu.fries.pk], available=False)
    cart = client.get(reverse("orders:cart"))
    assert [row["error"] for row in cart.context["rows"]] == ["Sorry, Fries is sold out."]
    refused = _add_as_a_program(client, small_menu.fries)
    assert refused.status_code == 400
    assert refused.json()["error"]["message"] == "Sorry, Fries is sold out."
    assert client.session["cart"][0]["quantity"] == 2


def test_the_order_is_placed_at_the_databases_price_whatever_the_cart_showed(
    client, small_menu, django_capture_on_commit_callbacks
):
    assert add_to_cart(client, small_menu.fries, 1).status_code == 302
    token = checkout_token(client)

    with django_capture_on_commit_callbacks(execute=False):
        # Written, its menu version not moved yet: the pages show the menu as it was.
        small_menu.fries.price_minor = 450
        small_menu.fries.save()
    assert client.get(reverse("orders:cart")).context["subtotal_minor"] == 400

    assert checkout(client, token=token).status_code == 302
    order = Order.objects.get()
    assert order.total_minor == 450
    assert order.items.get().unit_price_minor == 450


def test_a_dish_the_pantry_cannot_make_is_sold_out_in_the_cart_too(
    client, small_menu, pantry, django_capture_on_commit_callbacks
):
    assert add_to_cart(client, small_menu.fries, 1).status_code == 302

    with django_capture_on_commit_callbacks(execute=True):
        stock_count(
            ingredient_id=pantry.patty.pk, counted=0, unit=pantry.patty.unit, actor=Actor.system("test")
        )

    refused = _add_as_a_program(client, small_menu.burger, [small_menu.medium])
    assert refused.status_code == 400
    assert refused.json()["error"]["message"] == "Sorry, Burger is sold out."
    assert [line["item_id"] for line in client.session["cart"]] == [small_menu.fries.pk]
