"""A guest orders from the demo menu in a real browser: menu, cart, checkout, the sandbox
payment page, and back to the order page, which turns "Paid" when the webhook lands."""

from __future__ import annotations

import re

import pytest
from django.core.management import call_command
from playwright.sync_api import Locator, Page, expect

from menu.models import MenuItem
from menu.money import format_money
from orders.models import Order

pytestmark = pytest.mark.browser

CLASSIC_BURGER_MINOR = 1350
BACON_MINOR = 200
MOBILE = {"width": 375, "height": 812}


def _in_group(page: Page, legend: str) -> Locator:
    # A fieldset is a "group" named by its legend: "Extras (Optional, up to 3)".
    return page.get_by_role("group", name=re.compile(rf"^{legend}\b"))


def _add_to_cart(page: Page, quantity: int) -> None:
    page.get_by_label("Quantity").fill(str(quantity))
    page.get_by_role("button", name="Add to cart").click()
    expect(page.get_by_role("status")).to_contain_text("to your cart")


def test_guest_orders_from_the_menu_and_lands_on_the_order_page(
    live_server, open_page, screenshot, settings
) -> None:
    # The sandbox provider sends its signed webhook to this test's server.
    settings.SANDBOX_WEBHOOK_URL = live_server.url + "/webhooks/payments/sandbox/"
    call_command("seed_demo", verbosity=0)
    pizza_minor = MenuItem.objects.get(name="Margherita Pizza").price_minor
    expected_total = format_money((CLASSIC_BURGER_MINOR + BACON_MINOR) * 2 + pizza_minor)
    page, broken = open_page()

    page.goto(live_server.url + "/")
    expect(page.get_by_role("heading", name="Menu", level=1)).to_be_visible()

    # Classic Burger: medium, fries, bacon; two of them.
    page.get_by_role("link", name="Classic Burger").click()
    expect(page.get_by_role("heading", name=re.compile(r"^Classic Burger"), level=1)).to_be_visible()
    # The labels wrap the inputs, so each input is named after its option ("Bacon +€2.00").
    _in_group(page, "Cooking").get_by_role("radio", name="Medium", exact=True).check()
    _in_group(page, "Side").get_by_role("radio", name="Fries", exact=True).check()
    _in_group(page, "Extras").get_by_role("checkbox", name=re.compile(r"^Bacon\b")).check()
    _add_to_cart(page, 2)

    # Back on the menu: one Margherita.
    page.get_by_role("link", name="Margherita Pizza").click()
    _add_to_cart(page, 1)

    page.get_by_role("navigation", name="Main").get_by_role("link", name=re.compile(r"^Cart")).click()
    expect(page.get_by_role("heading", name="Your cart")).to_be_visible()
    expect(page.locator(".subtotal")).to_contain_text(expected_total)
    page.get_by_role("link", name="Check out").click()

    expect(page.get_by_role("heading", name="Checkout", level=1)).to_be_visible()
    page.get_by_role("radio", name="Pickup").check()
    # Required labels end in an aria-hidden "*": the accessible name is just "Name".
    page.get_by_role("textbox", name="Name", exact=True).fill("Grace Guest")
    page.get_by_role("textbox", name="Email", exact=True).fill("grace@example.test")
    page.get_by_role("textbox", name="Special instructions").fill("No pickles, please.")
    page.get_by_role("button", name=re.compile(r"^Place order")).click()

    # The sandbox's hosted checkout, labelled as test payments.
    expect(page.get_by_role("note")).to_contain_text("TEST PAYMENTS")
    expect(page.get_by_text("Amount")).to_contain_text(expected_total)
    screenshot(page, "sandbox-checkout.png")
    page.get_by_role("button", name="Approve payment").click()

    expect(page).to_have_url(re.compile(r"/orders/[A-Za-z0-9_-]+/$"))
    expect(page.get_by_role("heading", level=1)).to_contain_text("Order #")
    # The provider's webhook arrives over HTTP a moment later; the page is not live yet.
    for _ in range(20):
        if "Paid" in page.locator("[data-status]").inner_text():
            break
        page.wait_for_timeout(250)
        page.reload()
    expect(page.locator("[data-status]")).to_contain_text("Paid")
    expect(page.locator(".lines .total")).to_have_text(expected_total)
    expect(page.locator(".instructions")).to_have_text("No pickles, please.")
    expect(page.get_by_role("cell", name=re.compile(r"Classic Burger"))).to_contain_text("Medium")
    screenshot(page, "guest-order.png")
    assert broken == []

    order = Order.objects.get()
    assert page.url == live_server.url + order.get_absolute_url()
    assert (order.customer, order.order_type, order.status) == (None, "pickup", "paid")
    assert order.payments.get().status == "succeeded"
    assert order.total_minor == (CLASSIC_BURGER_MINOR + BACON_MINOR) * 2 + pizza_minor


def test_menu_marks_the_86ed_lobster_roll_sold_out_on_a_phone(live_server, open_page, screenshot) -> None:
    call_command("seed_demo", verbosity=0)
    page, broken = open_page(viewport=MOBILE)

    page.goto(live_server.url + "/")

    lobster = page.locator("li[data-item='lobster-roll']")
    expect(lobster).to_contain_text("Lobster Roll")
    expect(lobster).to_contain_text("Sold out")
    expect(page.locator("li[data-item='classic-burger']")).not_to_contain_text("Sold out")
    # Nothing on the page is wider than the phone.
    assert page.evaluate("document.documentElement.scrollWidth") <= MOBILE["width"]
    screenshot(page, "menu-mobile.png")
    assert broken == []
