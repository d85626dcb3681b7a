"""A customer orders through the pages: cart, checkout, order page, my orders."""

from __future__ import annotations

import pytest
from django.urls import reverse

from menu.money import format_money
from orders.models import Order, OrderEvent, OrderStatus
from tests.conftest import client_for
from tests.orders.flows import add_to_cart, checkout, checkout_token, scan_table

pytestmark = pytest.mark.django_db


def _order_three_items(client, menu):
    assert add_to_cart(client, menu.burger, 2, [menu.medium, menu.bacon, menu.cheese]).status_code == 302
    assert add_to_cart(client, menu.lemonade, 3, [menu.large]).status_code == 302
    assert add_to_cart(client, menu.fries, 1).status_code == 302


# Burger 12.00 + bacon 2.00 + cheese 1.50 = 15.50 x 2 = 31.00
# Lemonade 3.50 + large 1.00 = 4.50 x 3 = 13.50
# Fries 4.00 x 1 = 4.00                              total 48.50
EXPECTED_TOTAL = 4850


def test_guest_orders_three_items_with_modifiers_and_the_server_computes_the_total(client, small_menu):
    _order_three_items(client, small_menu)

    response = checkout(client, special_instructions="No onions, please")

    order = Order.objects.get()
    assert response.status_code == 302
    # Straight on to the payment provider's checkout (the sandbox here).
    assert response["Location"].startswith("/sandbox/pay/")
    assert order.payments.get().amount_minor == EXPECTED_TOTAL
    assert order.customer is None
    assert order.status == OrderStatus.AWAITING_PAYMENT
    assert order.total_minor == EXPECTED_TOTAL
    lines = {line.name: line for line in order.items.all()}
    assert lines["Burger"].unit_price_minor == 1550
    assert lines["Burger"].modifier_text() == "Medium, Bacon, Cheese"
    assert lines["Lemonade"].line_total_minor == 1350
    assert OrderEvent.objects.get(order=order).to_status == OrderStatus.AWAITING_PAYMENT

    page = client.get(order.get_absolute_url())
    assert page.status_code == 200
    assert format_money(EXPECTED_TOTAL) in page.content.decode()
    assert "Placed, awaiting payment" in page.content.decode()
    assert "No onions, please" in page.content.decode()


def test_signed_in_customer_orders_and_finds_the_order_in_my_orders(actors, small_menu):
    client = client_for(actors.customer)
    _order_three_items(client, small_menu)

    response = checkout(client, contact_email=actors.customer.email)

    order = Order.objects.get()
    assert order.customer == actors.customer
    assert order.total_minor == EXPECTED_TOTAL
    mine = client.get(reverse("orders:mine")).content.decode()
    assert order.get_absolute_url() in mine
    assert client.get(response["Location"]).status_code == 200


def test_cart_shows_server_prices_and_quantities_can_change(client, small_menu):
    add_to_cart(client, small_menu.fries, 2)
    page = client.get(reverse("orders:cart")).content.decode()
    assert format_money(800) in page

    line_id = client.session["cart"][0]["id"]
    client.post(reverse("orders:cart_update"), {"line": line_id, "quantity": 5})
    assert format_money(2000) in client.get(reverse("orders:cart")).content.decode()

    client.post(reverse("orders:cart_remove"), {"line": line_id})
    assert client.session["cart"] == []


def test_adding_the_same_item_and_choices_twice_merges_the_line(client, small_menu):
    add_to_cart(client, small_menu.lemonade, 1, [small_menu.large])
    add_to_cart(client, small_menu.lemonade, 2, [small_menu.large])
    add_to_cart(client, small_menu.lemonade, 1, [small_menu.regular])

    quantities = sorted(line["quantity"] for line in client.session["cart"])
    assert quantities == [1, 3]


def test_submitting_the_same_checkout_twice_creates_one_order(client, small_menu):
    add_to_cart(client, small_menu.fries, 1)
    token = checkout_token(client)

    first = checkout(client, token=token)
    second = checkout(client, token=token)

    assert Order.objects.count() == 1
    order = Order.objects.get()
    assert first["Location"].startswith("/sandbox/pay/")
    assert second["Location"] == order.get_absolute_url()
    assert order.payments.count() == 1


def test_a_checkout_token_not_issued_to_this_session_is_refused(client, small_menu):
    add_to_cart(client, small_menu.fries, 1)

    response = checkout(client, token="0" * 32)

    assert response.status_code == 400
    assert "expired" in response.content.decode()
    assert not Order.objects.exists()


def test_an_item_86ed_while_in_the_cart_blocks_checkout_with_a_clear_message(
    client, small_menu, django_capture_on_commit_callbacks
):
    add_to_cart(client, small_menu.fries, 1)
    token = checkout_token(client)
    # Committed, as a manager's 86 is: the cart reads the menu version its commit bumps.
    with django_capture_on_commit_callbacks(execute=True):
        small_menu.fries.is_available = False
        small_menu.fries.save()

    cart_page = client.get(reverse("orders:cart")).content.decode()
    response = checkout(client, token=token)

    assert "sold out" in cart_page
    assert response.status_code == 400
    assert "sold out" in response.content.decode()
    assert not Order.objects.exists()


@pytest.mark.parametrize(
    ("details", "message"),
    [
        ({"order_type": "dine_in", "table_number": ""}, "scan the QR code on it"),
        ({"order_type": "delivery", "delivery_address": "", "contact_phone": "0851234567"}, "address"),
        ({"order_type": "delivery", "delivery_address": "1 Main St", "contact_phone": ""}, "phone"),
        ({"order_type": "takeaway-by-drone"}, "valid choice"),
        ({"contact_email": "not-an-email"}, "valid email"),
        ({"special_instructions": "x" * 501}, "at most 500"),
    ],
)
def test_checkout_details_are_checked(client, small_menu, details, message):
    add_to_cart(client, small_menu.fries, 1)

    response = checkout(client, **details)

    assert response.status_code == 400
    assert message in response.content.decode()
    assert not Order.objects.exists()


def test_dine_in_and_delivery_keep_only_their_own_details(client, small_menu, floor_tables):
    scan_table(client, floor_tables[11])
    add_to_cart(client, small_menu.fries, 1)
    checkout(client, order_type="dine_in", table_number="12", delivery_address="ignored")

    order = Order.objects.get()
    assert (order.table_number, order.delivery_address) == ("12", "")
    assert "Table 12" in client.get(order.get_absolute_url()).content.decode()


def test_checkout_with_an_empty_cart_sends_the_customer_back_to_the_cart(client, small_menu):
    response = client.get(reverse("orders:checkout"))
    assert response.status_code == 302
    assert response["Location"] == reverse("orders:cart")
