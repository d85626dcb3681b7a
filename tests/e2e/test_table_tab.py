"""A waiter runs table 5's tab in a real browser: the first round goes to the kitchen at once,
a second round joins the tab, the bill lists both and is paid at the till, and the bill prints."""

from __future__ import annotations

import re

import pytest
from django.core.management import call_command
from django.test import Client
from playwright.sync_api import Page, expect

from orders.models import Order, OrderStatus, Tab
from tests.e2e.conftest import SCREENSHOTS_DIR

pytestmark = pytest.mark.browser


def _take_round(page: Page, base_url: str, quantity: int) -> None:
    """The waiter takes the table's order from the menu and checks out dine in at table 5."""
    page.goto(base_url + "/menu/")
    page.get_by_role("link", name="Margherita Pizza").click()
    page.get_by_label("Quantity").fill(str(quantity))
    page.get_by_role("button", name="Add to cart").click()
    expect(page.get_by_role("status")).to_contain_text("to your cart")
    page.get_by_role("navigation", name="Main").get_by_role("link", name=re.compile(r"^Cart")).click()
    page.get_by_role("link", name="Check out").click()
    page.get_by_role("radio", name="Dine in").check()
    page.get_by_label("Table", exact=True).select_option("5")
    page.get_by_role("textbox", name="Name", exact=True).fill("Table 5")
    page.get_by_role("textbox", name="Email", exact=True).fill("floor@example.test")
    page.get_by_role("button", name=re.compile(r"^Place order")).click()
    expect(page.get_by_role("heading", name="Bill · Table 5", level=1)).to_be_visible()


def test_a_waiter_runs_a_tab_from_the_first_round_to_the_paid_printed_bill(
    live_server, open_page, screenshot, actors
) -> None:
    call_command("seed_demo", verbosity=0)
    call_command("seed_demo_tables", verbosity=0)
    session = Client()
    session.force_login(actors.waiter, backend="django.contrib.auth.backends.ModelBackend")
    page, broken = open_page()
    page.context.add_cookies(
        [{"name": "sessionid", "value": session.cookies["sessionid"].value, "url": live_server.url}]
    )

    # First round: at the kitchen at once, unpaid, on the table's new tab.
    _take_round(page, live_server.url, 1)
    expect(page.get_by_role("status")).to_contain_text("on the tab of Table 5 and at the kitchen")
    first = Order.objects.get()
    assert first.status == OrderStatus.ON_TAB and first.tickets.exists()

    # Second round: the same tab.
    _take_round(page, live_server.url, 2)
    tab = Tab.objects.get()
    assert tab.rounds.count() == 2
    expect(page.locator("[data-round]")).to_have_count(2)
    total = sum(order.total_minor for order in Order.objects.all())
    total_text = page.locator("[data-total]").inner_text()
    assert re.sub(r"\D", "", total_text) == str(total)

    # The open tabs page leads to it too.
    page.goto(live_server.url + "/floor/")
    page.get_by_role("link", name="Open tabs").click()
    page.get_by_role("link", name="Table 5").click()

    # Paid at the till, by card: the tab closes.
    page.get_by_role("radio", name="Card").check()
    page.get_by_role("button", name=re.compile(r"^Record payment")).click()
    expect(page.get_by_role("status")).to_contain_text("paid")
    expect(page.locator("[data-paid]")).to_contain_text("Card at the till")
    expect(page.get_by_role("button", name=re.compile(r"^Record payment"))).to_have_count(0)
    tab.refresh_from_db()
    assert (tab.status, tab.paid_minor, tab.payment_method) == ("paid", total, "card")

    screenshot(page, "bill-table-5.png")

    # The printed bill: only the bill, no navigation or buttons.
    page.emulate_media(media="print")
    expect(page.locator(".site-header")).to_be_hidden()
    expect(page.locator(".bill-actions").first).to_be_hidden()
    expect(page.locator("[data-paid]")).to_be_visible()
    page.set_viewport_size({"width": 302, "height": 900})  # 80 mm at 96 dpi
    screenshot(page, "bill-table-5-print.png")
    page.pdf(path=str(SCREENSHOTS_DIR / "bill-table-5.pdf"), prefer_css_page_size=True)
    assert (SCREENSHOTS_DIR / "bill-table-5.pdf").stat().st_size > 1000
    assert broken == []
