"""Two people, two browsers, one real daphne: the customer pays, the chef's board shows the ticket
without a reload, the chef bumps it, and the customer's page says "Ready" without a reload."""

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
from menu.models import MenuItem
from orders.pricing import CartLine
from orders.services import OrderDetails, order_place
from tests.harness import daphne as daphne_harness
from tests.harness import worker as worker_harness

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
    expect(chef_page.locator("[data-all-day]")).to_contain_text("2 Garlic Bread")
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
