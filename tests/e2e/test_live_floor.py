"""A waiter's floor on a tablet, one real daphne: the grid of tables and the pass follow payments and
the kitchen without a reload, a missed change is caught up by a resync, and the forms still work."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.db.models import F
from django.test import Client
from django.utils import timezone
from playwright.sync_api import Page, expect

from accounts.roles import Actor
from menu.models import MenuItem
from orders.floor.models import FloorClock, Table
from orders.models import Order, OrderStatus
from orders.pricing import CartLine
from orders.services import OrderDetails, order_mark_paid, order_place, order_transition
from tests.harness import daphne as daphne_harness

pytestmark = [pytest.mark.browser, pytest.mark.postgres, pytest.mark.redis]

daphne_instance = daphne_harness.daphne_instance

TABLET = {"width": 1024, "height": 768}
HOSTILE = "<img src=x onerror=alert(1)>"
TILL = Actor.system("test-till")


def _simple_items() -> list[MenuItem]:
    """Demo dishes that need no choice made, so an order of them is one line each."""
    return [
        item
        for item in MenuItem.objects.filter(is_available=True)
        if not item.item_groups.filter(group__min_choices__gt=0).exists()
    ]


def _order(
    items: list[MenuItem], n: int, *, waiter=None, table: str = "", kind: str = "dine_in", note: str = ""
) -> Order:  # type: ignore[no-untyped-def]
    lines = [CartLine(items[(n + i) % len(items)].pk, 1 + (n + i) % 2) for i in range(1 + n % 3)]
    order, _ = order_place(
        lines=lines,
        details=OrderDetails(
            order_type=kind,
            table_number=table,
            contact_name=f"Table {table}" if table else "Grace",
            contact_email="floor@example.test",
            delivery_address="1 Quay Street" if kind == "delivery" else "",
            special_instructions=note,
        ),
        actor=Actor.for_user(waiter) if waiter else Actor.guest(),
    )
    return order


def _to(order: Order, *statuses: str, chef) -> Order:  # type: ignore[no-untyped-def]
    for status in statuses:
        actor = TILL if status == OrderStatus.PAID else Actor.for_user(chef)
        order = order_transition(order=order, to_status=status, actor=actor)
    return order


def _mark_loaded(page: Page) -> None:
    page.evaluate("window.loadedOnce = true")


def _not_reloaded(page: Page) -> bool:
    return page.evaluate("window.loadedOnce === true")


def test_the_floor_follows_payment_and_the_kitchen_without_a_reload(
    actors, open_page, screenshot, daphne_instance
) -> None:
    # Given the demo restaurant's menu and 12 tables on two floors, in the middle of a service:
    call_command("seed_demo", verbosity=0)
    call_command("seed_demo_tables", verbosity=0)
    items = _simple_items()
    waiter, chef = actors.waiter, actors.chef
    PAID, COOKING, READY = OrderStatus.PAID, OrderStatus.IN_PREPARATION, OrderStatus.READY
    _to(_order(items, 1, waiter=waiter, table="1"), PAID, COOKING, chef=chef)
    _to(_order(items, 2, waiter=waiter, table="2"), PAID, COOKING, READY, chef=chef)
    _to(_order(items, 3, waiter=waiter, table="3"), PAID, chef=chef)
    _to(_order(items, 4, waiter=waiter, table="3"), PAID, COOKING, READY, chef=chef)
    unpaid = _order(items, 5, waiter=waiter, table="5", note=HOSTILE)
    _to(_order(items, 6, waiter=waiter, table="9"), PAID, COOKING, chef=chef)
    _order(items, 7, waiter=waiter, table="11")
    for n, statuses in enumerate([(PAID, COOKING, READY), (PAID, COOKING), (PAID,), ()]):
        _to(_order(items, 8 + n, kind="pickup"), *statuses, chef=chef)
    _to(_order(items, 12, kind="delivery"), PAID, COOKING, READY, chef=chef)
    _to(_order(items, 13, kind="delivery"), PAID, chef=chef)
    # placed over the last forty minutes
    for n, order in enumerate(Order.objects.order_by("pk")):
        placed = timezone.now() - timedelta(minutes=40 - 2 * n)
        Order.objects.filter(pk=order.pk).update(
            created_at=placed, updated_at=placed + timedelta(minutes=4 + n % 6)
        )
    web = daphne_instance()
    dialogs: list[str] = []

    # And a waiter's floor open on a tablet
    page, broken = open_page(viewport=TABLET)
    session = Client()
    session.force_login(waiter, backend="django.contrib.auth.backends.ModelBackend")
    page.context.add_cookies(
        [{"name": "sessionid", "value": session.cookies["sessionid"].value, "url": web.url}]
    )
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    page.goto(web.url + "/floor/")
    expect(page.locator("[data-connection]")).to_have_text("Live")
    table_5 = page.locator(f'.floor-table[data-table="{Table.objects.get(label="5").pk}"]')
    expect(table_5).to_have_attribute("data-state", "waiting")
    expect(table_5.locator(".instructions")).to_have_text(HOSTILE)
    expect(page.locator('[data-count="ready"]')).to_have_text("4")
    screenshot(page, "floor-1024x768.png", full_page=False)
    screenshot(page, "floor-1024x768-full.png")
    _mark_loaded(page)

    # When the waiter's table pays (at the till, on another device)
    order_mark_paid(order=unpaid, actor=Actor.for_user(waiter))

    # Then the floor shows it paid, without a reload, and the payment form is gone
    card = page.locator(f'.floor-order[data-order="{unpaid.pk}"]')
    try:
        expect(card).to_have_attribute("data-status", "paid", timeout=20_000)
    except AssertionError as error:
        raise AssertionError(f"the floor did not follow the payment\n{web.log()}") from error
    expect(card.locator('[data-field="status_label"]')).to_have_text("Paid")
    expect(card.get_by_role("button", name="Payment taken")).to_have_count(0)
    assert _not_reloaded(page)

    # When the kitchen cooks it and it is ready
    unpaid.refresh_from_db()
    _to(unpaid, COOKING, READY, chef=chef)

    # Then its table says "Ready to serve", highlighted, with the Served button, without a reload
    expect(table_5).to_have_attribute("data-state", "ready", timeout=20_000)
    expect(table_5.locator('[data-field="state"]')).to_have_text("Ready to serve")
    expect(card.get_by_role("button", name="Served")).to_be_visible()
    expect(page.locator('[data-count="ready"]')).to_have_text("5")
    assert _not_reloaded(page)

    # When a change's broadcast is missed (its number taken, nothing sent), the next one shows a gap
    pickup = Order.objects.filter(order_type="pickup", status=OrderStatus.AWAITING_PAYMENT).get()
    Order.objects.filter(pk=pickup.pk).update(special_instructions="Missed, then caught up")
    FloorClock.objects.filter(pk=1).update(seq=F("seq") + 1)
    order_mark_paid(order=pickup, actor=Actor.for_user(waiter))

    # Then the page asks for the state again and shows what it missed as well
    caught_up = page.locator(f'.floor-order[data-order="{pickup.pk}"]')
    expect(caught_up).to_have_attribute("data-status", "paid", timeout=20_000)
    expect(caught_up.locator(".instructions")).to_have_text("Missed, then caught up")
    assert _not_reloaded(page)

    # And the Served form is a plain form: it works, and the order leaves the floor
    card.get_by_role("button", name="Served").click()
    expect(page.locator(".messages")).to_contain_text(f"Order {unpaid.number}: completed")
    expect(page.locator(f'.floor-order[data-order="{unpaid.pk}"]')).to_have_count(0)
    expect(table_5).to_have_attribute("data-state", "free")

    # And a filter narrows the floor to what is ready to serve
    page.get_by_role("link", name="Ready to serve").click()
    expect(page.locator(".floor-pass .floor-order")).to_have_count(2)
    expect(page.locator(".floor-order[data-status]:not([data-status='ready'])")).to_have_count(0)
    screenshot(page, "floor-ready-1024x768.png", full_page=False)

    assert dialogs == []  # what the guest typed never ran
    assert broken == []
    assert page.evaluate("document.documentElement.scrollWidth") <= TABLET["width"]
