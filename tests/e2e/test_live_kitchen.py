"""Two people, two browsers, one real daphne: the customer pays, the chef's board shows the ticket
without a reload, the chef bumps it, and the customer's page says "Ready" without a reload; the
board's 86 list follows the pantry and the manager without a reload."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.test import Client
from django.utils import timezone
from playwright.sync_api import Page, expect

from accounts.roles import Actor
from kitchen.models import Ticket
from menu.models import Ingredient, MenuItem
from menu.pantry.services import stock_deliver
from orders.pricing import CartLine
from orders.services import OrderDetails, order_place
from tests.harness import daphne as daphne_harness
from tests.harness import worker as worker_harness
from tests.menu.test_admin import _run_item_action

pytestmark = [pytest.mark.browser, pytest.mark.postgres, pytest.mark.redis]

daphne_instance = daphne_harness.daphne_instance
celery_worker = worker_harness.celery_worker

TABLET = {"width": 1280, "height": 800}
PHONE = {"width": 375, "height": 812}
HOSTILE = "<img src=x onerror=alert(1)>"


def _mark_loaded(page: Page) -> None:
    # Survives only as long as the document: a reload would wipe it.
    page.evaluate("window.loadedOnce = true")


def _not_reloaded(page: Page) -> bool:
    return page.evaluate("window.loadedOnce === true")


def test_customer_pays_chef_sees_the_ticket_live_bumps_it_and_the_customer_sees_ready(
    actors, open_page, screenshot, daphne_instance, celery_worker
) -> None:
    # Given the demo menu routed to its stations, a worker relaying the outbox and one web instance
    call_command("seed_demo", verbosity=0)
    call_command("seed_demo_stations", verbosity=0)
    worker = celery_worker()
    web = daphne_instance()
    bread = MenuItem.objects.get(name="Garlic Bread")
    order, _ = order_place(
        lines=[CartLine(bread.pk, 2)],
        details=OrderDetails(
            order_type="pickup",
            contact_name="Grace",
            contact_email="grace@example.test",
            special_instructions=HOSTILE,
        ),
        actor=Actor.guest(),
    )
    dialogs: list[str] = []

    # And a chef with the fry station's board open on a tablet
    chef_page, chef_broken = open_page(viewport=TABLET)
    session = Client()
    session.force_login(actors.chef, backend="django.contrib.auth.backends.ModelBackend")
    chef_page.context.add_cookies(
        [{"name": "sessionid", "value": session.cookies["sessionid"].value, "url": web.url}]
    )
    chef_page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    chef_page.goto(web.url + "/kitchen/fry/")
    expect(chef_page.locator("[data-connection]")).to_have_text("Live")
    expect(chef_page.locator("[data-open-empty]")).to_be_visible()
    _mark_loaded(chef_page)

    # When the customer pays on their phone, through the sandbox's hosted page
    customer_page, customer_broken = open_page(viewport=PHONE)
    customer_page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    customer_page.goto(web.url + order.get_absolute_url())
    customer_page.get_by_role("button", name="Pay now").click()
    customer_page.get_by_role("button", name="Approve payment").click()
    expect(customer_page.locator("[data-status]")).to_contain_text("Paid", timeout=20_000)
    _mark_loaded(customer_page)

    # Then the chef's board shows the ticket without a reload, instructions as text
    ticket = chef_page.locator(f".tickets[data-open] [data-ticket]:has-text('{order.number}')")
    try:
        expect(ticket).to_be_visible(timeout=20_000)
    except AssertionError as error:
        raise AssertionError(f"no ticket on the board\n{web.log()}\n{worker.explain()}") from error
    expect(ticket).to_contain_text("2× Garlic Bread")
    expect(ticket.locator(".instructions")).to_have_text(HOSTILE)
    expect(chef_page.locator("[data-all-day]")).to_contain_text("Garlic Bread × 2")
    assert _not_reloaded(chef_page)
    assert chef_page.locator(".kitchen").get_attribute("data-alerts") == "1"
    screenshot(chef_page, "kitchen-board-1280x800.png", full_page=False)

    # And a ticket that has waited past the fry station's red threshold (12 minutes) shows it
    Ticket.objects.filter(order=order).update(created_at=timezone.now() - timedelta(minutes=13))
    chef_page.reload()
    expect(ticket).to_have_attribute("data-age-level", "late")
    expect(ticket.locator(".ticket-age")).to_have_text(re.compile(r"^1[34]:\d\d$"))

    # When the chef bumps it
    ticket.get_by_role("button", name="Bump").click()
    expect(chef_page.locator("[data-recall]")).to_contain_text(order.number)
    expect(chef_page.locator("[data-open-empty]")).to_be_visible()

    # Then the customer's page says ready, without a reload
    expect(customer_page.locator("[data-status]")).to_contain_text("Ready", timeout=20_000)
    assert _not_reloaded(customer_page)
    expect(customer_page.locator(".instructions")).to_have_text(HOSTILE)
    assert customer_page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    screenshot(customer_page, "order-ready-375.png")

    assert dialogs == []  # the hostile instructions never ran
    assert chef_broken == [] and customer_broken == []
    order.refresh_from_db()
    assert order.status == "ready"


def test_the_boards_86_list_changes_without_a_reload_when_the_pantry_or_a_manager_changes_it(
    actors, open_page, daphne_instance
) -> None:
    # Given the demo restaurant, two portions of Grilled Salmon from sold out, and a chef's expo board
    call_command("seed_demo", verbosity=0)
    web = daphne_instance()
    salmon = MenuItem.objects.get(slug="grilled-salmon")
    required = [link.group.options.first().pk for link in salmon.item_groups.filter(group__min_choices__gt=0)]
    chef_page, chef_broken = open_page(viewport=TABLET)
    session = Client()
    session.force_login(actors.chef, backend="django.contrib.auth.backends.ModelBackend")
    chef_page.context.add_cookies(
        [{"name": "sessionid", "value": session.cookies["sessionid"].value, "url": web.url}]
    )
    chef_page.goto(web.url + "/kitchen/")
    expect(chef_page.locator("[data-connection]")).to_have_text("Live")
    eighty_six = chef_page.locator("[data-eighty-six]")
    expect(eighty_six).not_to_contain_text("Grilled Salmon")
    _mark_loaded(chef_page)

    # When a guest orders the last two portions
    order_place(
        lines=[CartLine(salmon.pk, 2, tuple(required))],
        details=OrderDetails(order_type="pickup", contact_name="Grace", contact_email="grace@example.test"),
        actor=Actor.guest(),
    )

    # Then the board's 86 list shows it, without a reload
    try:
        expect(eighty_six.locator('[data-sold-out="Grilled Salmon"]')).to_have_text(
            "Grilled Salmon (out of stock)", timeout=20_000
        )
    except AssertionError as error:
        raise AssertionError(f"the 86 list did not change\n{web.log()}") from error

    # And a delivery of salmon takes it off the list again
    fillet = Ingredient.objects.get(name="Salmon fillet")
    stock_deliver(ingredient_id=fillet.pk, quantity=6, unit=fillet.unit, actor=Actor.system("test-stockroom"))
    expect(eighty_six).not_to_contain_text("Grilled Salmon", timeout=20_000)

    # And a manager's 86 in admin shows as one
    manager = Client()
    manager.force_login(actors.manager, backend="django.contrib.auth.backends.ModelBackend")
    _run_item_action(manager, "mark_sold_out", MenuItem.objects.get(name="Garlic Bread"))
    expect(eighty_six.locator('[data-sold-out="Garlic Bread"]')).to_have_text(
        "Garlic Bread (86)", timeout=20_000
    )
    assert _not_reloaded(chef_page)
    assert chef_broken == []
