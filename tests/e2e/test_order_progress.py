"""A customer's phone follows the order's progress bar live: paid, cooking, ready, without a reload."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from playwright.sync_api import Page, expect

from accounts.roles import Actor
from kitchen.models import Ticket
from menu.models import MenuItem
from orders.pacing.selectors import ASAP
from orders.pricing import CartLine
from orders.services import OrderDetails, order_place
from tests.harness import daphne as daphne_harness
from tests.harness import worker as worker_harness

pytestmark = [pytest.mark.browser, pytest.mark.postgres, pytest.mark.redis]

daphne_instance = daphne_harness.daphne_instance
celery_worker = worker_harness.celery_worker

PHONE = {"width": 375, "height": 812}


def _current_step(page: Page):  # type: ignore[no-untyped-def]
    return page.get_by_role("list", name="Progress of your order").locator('[aria-current="step"]')


def test_the_progress_bar_moves_live_on_a_phone(
    actors, open_page, screenshot, daphne_instance, celery_worker
):  # type: ignore[no-untyped-def]
    # Given a guest's pickup order, a worker relaying the outbox and one web instance
    call_command("seed_demo", verbosity=0)
    call_command("seed_demo_stations", verbosity=0)
    worker = celery_worker()
    web = daphne_instance()
    bread = MenuItem.objects.get(name="Garlic Bread")
    order, _ = order_place(
        lines=[CartLine(bread.pk, 1, note="extra garlic")],
        details=OrderDetails(order_type="pickup", contact_name="Grace", contact_email="grace@example.test"),
        actor=Actor.guest(),
        pickup=ASAP,
    )
    page, broken = open_page(viewport=PHONE)
    page.goto(web.url + order.get_absolute_url())
    progress = page.get_by_role("list", name="Progress of your order")
    expect(progress).to_be_visible()
    expect(_current_step(page)).to_have_count(0)

    # When the guest pays in the sandbox
    page.get_by_role("button", name="Pay now").click()
    page.get_by_role("button", name="Approve payment").click()
    try:
        expect(_current_step(page)).to_contain_text("Paid", timeout=20_000)
    except AssertionError as error:
        raise AssertionError(f"not paid\n{web.log()}\n{worker.explain()}") from error
    page.evaluate("window.loadedOnce = true")
    expect(page.get_by_text("Ready around")).to_be_visible()
    expect(page.locator(".line-note")).to_have_text("Note: extra garlic")

    # and the kitchen starts and bumps its ticket
    chef = Client()
    chef.force_login(actors.chef, backend="django.contrib.auth.backends.ModelBackend")
    for move, step in (("start", "Cooking"), ("bump", "Ready")):
        ticket = Ticket.objects.get(order=order)
        answer = chef.post(
            reverse("kitchen:ticket_move", args=[ticket.pk]), {"move": move, "version": ticket.version}
        )
        assert answer.status_code in (200, 302), answer.status_code
        # Then the bar follows without a reload
        expect(_current_step(page)).to_contain_text(step, timeout=20_000)

    assert page.evaluate("window.loadedOnce === true")
    expect(progress.locator(".done")).to_have_count(2)
    expect(progress.get_by_text("(done)")).to_have_count(2)
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    screenshot(page, "order-progress-375.png")
    assert broken == []
