"""Tampered requests never create an order or a cart line, and say what is wrong."""

from __future__ import annotations

import pytest
from django.urls import reverse

from orders.models import Order
from tests.factories import MenuItemFactory, ModifierGroupFactory, ModifierOptionFactory, attach
from tests.orders.flows import add_to_cart, checkout

pytestmark = pytest.mark.django_db


def _refused(response, message: str, client) -> None:
    assert response.status_code == 400, response.status_code
    assert message in response.content.decode()
    assert client.session.get("cart", []) == []


@pytest.mark.parametrize(
    ("quantity", "message"),
    [
        (0, "at least 1"),
        (-1, "at least 1"),
        (1000, "at most 50"),
        ("abc", "whole number"),
        ("", "required"),
        ("1.5", "whole number"),
    ],
)
def test_a_bad_quantity_is_refused(client, small_menu, quantity, message):
    response = add_to_cart(client, small_menu.fries, quantity)
    _refused(response, message, client)


def test_an_unknown_item_is_refused(client, small_menu):
    response = client.post(reverse("orders:cart_add"), {"item": 999_999, "quantity": 1})
    _refused(response, "not on the menu", client)


def test_a_sold_out_item_is_refused(client, small_menu):
    response = add_to_cart(client, small_menu.sold_out, 1)
    _refused(response, "sold out", client)


def test_a_modifier_of_another_item_is_refused(client, small_menu):
    response = add_to_cart(client, small_menu.fries, 1, [small_menu.bacon])
    _refused(response, "does not belong", client)


def test_a_modifier_sent_under_another_groups_name_is_still_checked(client, small_menu):
    response = client.post(
        reverse("orders:cart_add"),
        {
            "item": small_menu.burger.pk,
            "quantity": 1,
            f"mod-{small_menu.rare.group_id}": [small_menu.medium.pk, small_menu.large.pk],
        },
    )
    _refused(response, "does not belong", client)


def test_too_few_choices_in_a_required_group_are_refused(client, small_menu):
    response = add_to_cart(client, small_menu.burger, 1, [small_menu.bacon])
    _refused(response, "Cooking", client)


def test_two_choices_in_a_single_choice_group_are_refused(client, small_menu):
    response = add_to_cart(client, small_menu.burger, 1, [small_menu.rare, small_menu.medium])
    _refused(response, "Cooking", client)


def test_more_extras_than_allowed_are_refused(client, small_menu):
    options = [small_menu.medium, small_menu.bacon, small_menu.cheese, small_menu.egg]
    response = add_to_cart(client, small_menu.burger, 1, options)
    _refused(response, "up to 2", client)


def test_the_same_option_twice_is_refused(client, small_menu):
    response = add_to_cart(
        client, small_menu.burger, 1, [small_menu.medium, small_menu.bacon, small_menu.bacon]
    )
    _refused(response, "twice", client)


def test_an_unavailable_option_is_refused(client, small_menu):
    small_menu.bacon.is_available = False
    small_menu.bacon.save()
    response = add_to_cart(client, small_menu.burger, 1, [small_menu.medium, small_menu.bacon])
    _refused(response, "not available", client)


def test_garbage_option_ids_are_refused(client, small_menu):
    response = client.post(
        reverse("orders:cart_add"),
        {
            "item": small_menu.burger.pk,
            "quantity": 1,
            f"mod-{small_menu.rare.group_id}": ["'; DROP TABLE x;--"],
        },
    )
    _refused(response, "Choose from the options shown", client)


def test_a_price_field_added_to_the_form_is_refused(client, small_menu):
    response = add_to_cart(client, small_menu.fries, 1, price_minor=1)
    _refused(response, "does not accept the field(s): price_minor", client)


def test_a_price_field_added_at_checkout_is_refused_and_creates_no_order(client, small_menu):
    add_to_cart(client, small_menu.fries, 1)

    response = checkout(client, total_minor=1)

    assert response.status_code == 400
    assert "does not accept the field(s): total_minor" in response.content.decode()
    assert not Order.objects.exists()


def test_a_cart_line_edited_to_a_bad_quantity_is_refused_and_kept(client, small_menu):
    add_to_cart(client, small_menu.fries, 2)
    line_id = client.session["cart"][0]["id"]

    response = client.post(reverse("orders:cart_update"), {"line": line_id, "quantity": 1000})

    assert response.status_code == 400
    assert client.session["cart"][0]["quantity"] == 2


def test_a_tampered_session_cart_cannot_order_a_bad_line(client, small_menu):
    add_to_cart(client, small_menu.fries, 1)
    session = client.session
    session["cart"][0]["quantity"] = 1000
    session.save()

    response = checkout(client)

    assert response.status_code == 400
    assert not Order.objects.exists()


def test_an_option_of_a_group_detached_from_the_item_is_refused(client, small_menu):
    sauce = ModifierGroupFactory(name="Sauce", min_choices=0, max_choices=1)
    ketchup = ModifierOptionFactory(group=sauce, name="Ketchup")
    other = MenuItemFactory(category=small_menu.fries.category)
    attach(other, sauce)

    response = add_to_cart(client, small_menu.fries, 1, [ketchup])

    _refused(response, "does not belong", client)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("special_instructions", "no nuts \u202eevil\u202c"),
        ("contact_name", "Ada\x1b[31m"),
        ("contact_phone", "<script>alert(1)</script>"),
        ("contact_phone", "' OR 1=1; --"),
        ("special_instructions", "before\x00after"),
    ],
)
def test_checkout_refuses_invisible_controls_and_a_phone_that_is_not_one(client, small_menu, field, value):
    add_to_cart(client, small_menu.fries, 1)

    response = checkout(client, **{field: value})

    assert response.status_code == 400
    assert not Order.objects.exists()


def test_special_instructions_may_span_lines(client, small_menu):
    add_to_cart(client, small_menu.fries, 1)
    checkout(
        client, special_instructions="No onions.\nExtra napkins, please.", contact_phone="+353 85 123 4567"
    )
    assert Order.objects.get().special_instructions == "No onions.\nExtra napkins, please."
