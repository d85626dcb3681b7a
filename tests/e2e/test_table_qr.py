"""A guest scans the QR code on table 5 in a real browser: the menu knows the table, the
checkout has dine in at table 5 chosen, the guest pays in the sandbox and the order is the table's."""

from __future__ import annotations

import re

import pytest
from django.core.management import call_command
from django.test import Client
from playwright.sync_api import expect

from orders.floor.links import table_link_token
from orders.floor.models import Table
from orders.models import Order
from tests.e2e.conftest import SCREENSHOTS_DIR

pytestmark = pytest.mark.browser

MOBILE = {"width": 375, "height": 812}


def test_a_guest_follows_table_fives_code_orders_dine_in_there_and_pays_online(
    live_server, open_page, screenshot, settings
) -> None:
    settings.SANDBOX_WEBHOOK_URL = live_server.url + "/webhooks/payments/sandbox/"
    call_command("seed_demo", verbosity=0)
    call_command("seed_demo_tables", verbosity=0)
    table = Table.objects.in_service().get(label="5")
    page, broken = open_page(viewport=MOBILE)

    # What the phone's camera opens from the printed code.
    page.goto(f"{live_server.url}/t/{table_link_token(table)}/")

    expect(page.get_by_role("heading", name="Menu", level=1)).to_be_visible()
    expect(page.get_by_role("note").filter(has_text="Table 5")).to_contain_text("dine in")
    page.get_by_role("link", name="Margherita Pizza").click()
    page.get_by_label("Quantity").fill("1")
    page.get_by_role("button", name="Add to cart").click()
    expect(page.get_by_role("status")).to_contain_text("to your cart")

    page.get_by_role("navigation", name="Main").get_by_role("link", name=re.compile(r"^Cart")).click()
    page.get_by_role("link", name="Check out").click()
    expect(page.get_by_role("heading", name="Checkout", level=1)).to_be_visible()
    expect(page.get_by_role("radio", name="Dine in")).to_be_checked()
    expect(page.locator(".dine-in-table")).to_contain_text("Dine in at Table 5")
    screenshot(page, "checkout-table-qr.png")
    page.get_by_role("textbox", name="Name", exact=True).fill("Tess Table")
    page.get_by_role("textbox", name="Email", exact=True).fill("tess@example.test")
    page.get_by_role("button", name=re.compile(r"^Place order")).click()

    expect(page.get_by_role("note").filter(has_text="TEST PAYMENTS")).to_be_visible()
    page.get_by_role("button", name="Approve payment").click()

    expect(page).to_have_url(re.compile(r"/orders/[A-Za-z0-9_-]+/$"))
    expect(page.get_by_role("main")).to_contain_text("Table 5")
    for _ in range(20):
        if "Paid" in page.locator("[data-status]").inner_text():
            break
        page.wait_for_timeout(250)
        page.reload()
    expect(page.locator("[data-status]")).to_contain_text("Paid")
    assert broken == []

    order = Order.objects.get()
    assert (order.order_type, order.table, order.table_number, order.status) == (
        "dine_in",
        table,
        "5",
        "paid",
    )
    assert order.payments.get().status == "succeeded"


def test_a_manager_prints_the_upstairs_qr_sheet_under_the_sites_csp(
    live_server, open_page, screenshot, actors
):
    call_command("seed_demo_tables", verbosity=0)
    manager = Client()
    manager.force_login(actors.manager, backend="django.contrib.auth.backends.ModelBackend")
    page, broken = open_page()
    page.context.add_cookies(
        [{"name": "sessionid", "value": manager.cookies["sessionid"].value, "url": live_server.url}]
    )
    violations: list[str] = []
    page.on(
        "console",
        lambda message: (
            violations.append(message.text) if "Content Security Policy" in message.text else None
        ),
    )

    page.goto(live_server.url + "/admin/orders/table/")
    page.get_by_role("link", name="QR sheet: Upstairs").click()

    cards = page.locator(".card")
    expect(cards).to_have_count(4)
    expect(page.get_by_role("img", name="QR code for Table 9")).to_be_visible()
    # The sheet's own stylesheet applies: cut lines around each code (once it has loaded:
    # the cards are in the DOM before it is).
    page.wait_for_load_state("load")
    assert cards.first.evaluate("e => getComputedStyle(e).borderTopStyle") == "dashed"
    page.emulate_media(media="print")
    expect(page.locator(".sheet-tools")).to_be_hidden()
    screenshot(page, "qr-sheet-upstairs-print.png")
    page.pdf(path=str(SCREENSHOTS_DIR / "qr-sheet-upstairs.pdf"), format="A4")
    assert violations == []
    assert broken == []
