"""The pass in a browser, against a real daphne: expo hands an order over, the board holds a rush of
200 tickets, a new ticket chimes (and "Sound off" stays off on that tablet), a ticket prints on 80 mm."""

from __future__ import annotations

import random
import re
from collections.abc import Sequence

import pytest
from django.core.management import call_command
from django.test import Client
from playwright.sync_api import Page, expect

from accounts.roles import Actor
from menu.models import Ingredient, MenuItem
from menu.pantry.services import stock_deliver
from orders.models import Order, OrderStatus
from orders.pricing import CartLine
from orders.services import OrderDetails, order_place, order_transition
from tests.e2e.conftest import SCREENSHOTS_DIR
from tests.harness import daphne as daphne_harness

pytestmark = [pytest.mark.browser, pytest.mark.postgres, pytest.mark.redis]

daphne_instance = daphne_harness.daphne_instance

TABLET = {"width": 1280, "height": 800}
TILL = Actor.system("test-till")


def _demo_kitchen() -> None:
    call_command("seed_demo", verbosity=0)
    call_command("seed_demo_stations", verbosity=0)
    # A rush outruns the demo pantry; the stockroom delivers plenty first.
    stockroom = Actor.system("test-stockroom")
    for ingredient in Ingredient.objects.all():
        stock_deliver(ingredient_id=ingredient.pk, quantity=5000, unit=ingredient.unit, actor=stockroom)


def _option(item: MenuItem, group_name: str, option_name: str) -> int:
    return item.item_groups.get(group__name=group_name).group.options.get(name=option_name).pk


def _burger(quantity: int = 1, doneness: str = "Medium") -> CartLine:
    burger = MenuItem.objects.get(name="Classic Burger")
    return CartLine(
        burger.pk, quantity, (_option(burger, "Cooking", doneness), _option(burger, "Side", "Fries"))
    )


def _lemonade(quantity: int = 1, size: str = "Regular") -> CartLine:
    lemonade = MenuItem.objects.get(name="Lemonade")
    return CartLine(lemonade.pk, quantity, (_option(lemonade, "Size", size),))


def _paid(lines: Sequence[CartLine], *, order_type: str = "pickup", name: str = "Grace") -> Order:
    order, _ = order_place(
        lines=list(lines),
        details=OrderDetails(
            order_type=order_type,
            contact_name=name,
            contact_email="grace@example.test",
            delivery_address="1 Quay Street" if order_type == "delivery" else "",
        ),
        actor=Actor.guest(),
    )
    return order_transition(order=order, to_status=OrderStatus.PAID, actor=TILL)


def _board(open_page, web, user, path: str = "/kitchen/") -> Page:
    page, broken = open_page(viewport=TABLET)
    session = Client()
    session.force_login(user, backend="django.contrib.auth.backends.ModelBackend")
    page.context.add_cookies(
        [{"name": "sessionid", "value": session.cookies["sessionid"].value, "url": web.url}]
    )
    page.goto(web.url + path)
    expect(page.locator("[data-connection]")).to_have_text("Live")
    page.broken = broken  # type: ignore[attr-defined]
    return page


def test_expo_shows_each_station_then_hands_the_ready_order_over(
    actors, open_page, screenshot, daphne_instance
):
    # Given a pickup order cooked at two stations, and the expo open on a tablet
    _demo_kitchen()
    web = daphne_instance()
    page = _board(open_page, web, actors.chef)
    order = _paid([_burger(2), _lemonade(1, "Large")])

    # Then its one card shows both stations' progress, without a reload
    card = page.locator(f'[data-order="{order.pk}"]')
    expect(card).to_have_attribute("data-ready", "false", timeout=20_000)
    expect(card.locator(".order-station")).to_have_count(2)
    expect(card.locator('[data-station="grill"] [data-field="status"]')).to_have_text("New")
    expect(card).to_contain_text("2× Classic Burger")
    expect(card).to_contain_text("Medium, Fries")
    expect(page.locator("[data-all-day]")).to_contain_text("Classic Burger · Medium, Fries × 2")

    # When the grill bumps, the card says so and still waits for the bar
    card.locator('[data-station="grill"]').get_by_role("button", name="Bump").click()
    expect(card.locator('[data-station="grill"] [data-field="status"]')).to_have_text("Bumped")
    expect(card.locator('[data-field="progress"]')).to_have_text("1 of 2 stations done")
    expect(card.get_by_role("button", name="Picked up")).to_be_hidden()

    # And when the bar bumps too, the order is ready at the pass with its hand-over button
    card.locator('[data-station="bar"]').get_by_role("button", name="Bump").click()
    ready = page.locator(f'[data-ready-rail] [data-order="{order.pk}"]')
    expect(ready).to_have_attribute("data-ready", "true")
    expect(ready.locator('[data-field="progress"]')).to_have_text("Ready: hand over")
    # Recall stays: a station taken back puts the order back in the cooking rail
    ready.locator('[data-station="bar"]').get_by_role("button", name="Recall").click()
    expect(page.locator(f'[data-open] [data-order="{order.pk}"]')).to_have_attribute("data-ready", "false")
    page.locator(f'[data-order="{order.pk}"] [data-station="bar"]').get_by_role("button", name="Bump").click()
    expect(ready).to_be_visible()
    screenshot(page, "expo-ready-at-the-pass-1280x800.png", full_page=False)

    # When the expo hands it over
    ready.get_by_role("button", name="Picked up").click()

    # Then it leaves the board, and the order is completed with how it left
    expect(page.locator(f'[data-order="{order.pk}"]')).to_have_count(0)
    expect(page.locator("[data-ready-empty]")).to_be_visible()
    order.refresh_from_db()
    assert order.status == OrderStatus.COMPLETED
    assert order.events.last().data == {"handed_over": "picked_up"}
    assert page.broken == []  # type: ignore[attr-defined]


def test_the_board_holds_a_rush_of_200_tickets(actors, open_page, screenshot, daphne_instance):
    # Given a rush: 100 orders, each cooked at the grill and the bar (200 open tickets)
    _demo_kitchen()
    web = daphne_instance()
    rng = random.Random(14)
    for number in range(100):
        doneness = rng.choice(["Rare", "Medium", "Medium", "Well done"])
        _paid(
            [_burger(rng.randint(1, 3), doneness), _lemonade(1, rng.choice(["Regular", "Large"]))],
            name=f"Guest {number}",
        )

    # When the expo opens on a 1280×800 tablet
    page = _board(open_page, web, actors.chef)

    # Then the cards are compact, oldest first, and the rail says how many are out of view
    kitchen = page.locator(".kitchen")
    expect(kitchen).to_have_attribute("data-density", "compact")
    cards = page.locator("[data-open] > .order-card")
    expect(cards).to_have_count(100)
    numbers = [int(n.lstrip("#")) for n in cards.locator('[data-field="order_number"]').all_inner_texts()]
    assert numbers == sorted(numbers)
    off_screen = page.locator(".ticket-rail:not(.pass-rail) [data-off-screen]")
    expect(off_screen).to_be_visible()
    expect(off_screen).to_contain_text(re.compile(r"^\d+ more orders below$"))
    below = int(off_screen.inner_text().split()[0])
    screenshot(page, "expo-rush-200-tickets-1280x800.png", full_page=False)
    visible = page.evaluate(
        """() => {
          const rail = document.querySelector(".ticket-rail:not(.pass-rail) [data-rail]")
            .getBoundingClientRect();
          const cards = [...document.querySelectorAll("[data-open] > .order-card")];
          return cards.filter(c => {
            const r = c.getBoundingClientRect();
            return r.top < rail.bottom - 8 && r.bottom > rail.top + 8;
          }).length;
        }"""
    )
    assert visible >= 6 and below == 100 - visible
    # The page itself does not scroll: the rail does, under the bars
    assert page.evaluate("document.documentElement.scrollHeight") <= TABLET["height"] + 40
    # Readable: the order number and the lines stay large enough to read at arm's length
    assert (
        page.evaluate(
            "parseFloat(getComputedStyle(document.querySelector('.order-card .ticket-number')).fontSize)"
        )
        >= 20
    )
    assert (
        page.evaluate(
            "parseFloat(getComputedStyle(document.querySelector('.order-card .ticket-line')).fontSize)"
        )
        >= 15
    )
    # And the all-day bar counts by item and modifier
    all_day = page.locator("[data-all-day]")
    expect(all_day).to_contain_text("Classic Burger · Medium, Fries ×")
    expect(all_day).to_contain_text("Lemonade · Large ×")

    # When the chef scrolls the rail down, the count follows
    page.locator(".ticket-rail:not(.pass-rail) [data-rail]").evaluate("rail => rail.scrollBy(0, 600)")
    expect(off_screen).to_contain_text(re.compile(r"more orders below · \d+ orders? above$"))

    # When the chef folds the all-day bar, it stays folded on this tablet after a reload
    page.locator("[data-all-day-toggle]").click()
    expect(all_day).to_be_hidden()
    page.reload()
    expect(page.locator("[data-connection]")).to_have_text("Live")
    expect(page.locator("[data-all-day-toggle]")).to_have_attribute("aria-expanded", "false")
    expect(all_day).to_be_hidden()
    screenshot(page, "expo-rush-200-tickets-all-day-folded-1280x800.png", full_page=False)

    # And a station's board holds its hundred tickets the same way
    page.goto(web.url + "/kitchen/grill/")
    expect(page.locator("[data-connection]")).to_have_text("Live")
    expect(page.locator("[data-open] > .ticket")).to_have_count(100)
    expect(page.locator(".ticket-rail [data-off-screen]")).to_contain_text(
        re.compile(r"^\d+ more tickets below$")
    )
    screenshot(page, "grill-rush-100-tickets-1280x800.png", full_page=False)
    assert page.broken == []  # type: ignore[attr-defined]


_LISTEN = """() => {
  window.chimes = [];
  const board = document.querySelector(".kitchen");
  board.addEventListener("brigade:chime", e => window.chimes.push(["start", e.detail.state]));
  board.addEventListener("brigade:chime-ended", e => window.chimes.push(["ended", e.detail.state]));
}"""


def _until(page: Page, script: str, timeout_ms: int = 5_000) -> None:
    # page.wait_for_function evaluates a string, which the pages' CSP (no unsafe-eval) refuses.
    for _ in range(timeout_ms // 50):
        if page.evaluate(script):
            return
        page.wait_for_timeout(50)
    raise AssertionError(f"never true: {script} (chimes: {page.evaluate('window.chimes')})")


def test_a_new_ticket_chimes_after_a_tap_and_sound_off_is_remembered(actors, open_page, daphne_instance):
    # Given the bar's board on a tablet, tapped once (browsers play sound only after a touch)
    _demo_kitchen()
    web = daphne_instance()
    page = _board(open_page, web, actors.chef, "/kitchen/bar/")
    page.evaluate(_LISTEN)
    page.locator("h1").click()
    expect(page.get_by_role("button", name="Sound on")).to_be_visible()

    # When a new ticket arrives over the socket
    first = _paid([_lemonade()])
    expect(page.locator(f'[data-open] [data-ticket]:has-text("#{first.pk}")')).to_be_visible(timeout=20_000)

    # Then the page's chime started on a running audio context, and played to its end
    _until(page, "() => window.chimes.length >= 1")
    assert page.evaluate("window.chimes[0]") == ["start", "running"]
    _until(page, "() => window.chimes.some(c => c[0] === 'ended')")
    expect(page.locator(".kitchen")).to_have_attribute("data-alerts", "1")

    # When the chef switches the sound off and the tablet reloads the board
    page.get_by_role("button", name="Sound on").click()
    expect(page.get_by_role("button", name="Sound off")).to_have_attribute("aria-pressed", "false")
    page.reload()
    expect(page.locator("[data-connection]")).to_have_text("Live")

    # Then it is still off, and the next ticket is flagged but does not sound
    page.evaluate(_LISTEN)
    page.locator("h1").click()
    expect(page.get_by_role("button", name="Sound off")).to_be_visible()
    assert page.evaluate("localStorage.getItem('brigade.kitchen.sound')") == "off"
    second = _paid([_lemonade(2)])
    expect(page.locator(f'[data-open] [data-ticket]:has-text("#{second.pk}")')).to_be_visible(timeout=20_000)
    expect(page.locator(".kitchen")).to_have_attribute("data-alerts", "1")
    page.wait_for_timeout(500)
    assert page.evaluate("window.chimes") == []
    assert page.broken == []  # type: ignore[attr-defined]


def test_a_ticket_prints_on_an_80_mm_roll(actors, open_page, daphne_instance):
    # Given a ticket on the grill's board, with modifiers and the customer's instructions
    _demo_kitchen()
    web = daphne_instance()
    order, _ = order_place(
        lines=[_burger(2, "Rare"), _burger(1, "Well done")],
        details=OrderDetails(
            order_type="pickup",
            contact_name="Grace",
            contact_email="grace@example.test",
            special_instructions="No pickles, nut allergy <b>please</b>",
        ),
        actor=Actor.guest(),
    )
    order_transition(order=order, to_status=OrderStatus.PAID, actor=TILL)
    page = _board(open_page, web, actors.chef, "/kitchen/grill/")
    ticket = page.locator(f'[data-open] [data-ticket]:has-text("#{order.pk}")')
    expect(ticket).to_be_visible()
    expect(ticket.get_by_role("button", name="Print")).to_be_visible()

    # When it is printed
    page.emulate_media(media="print")

    # Then only the ticket shows, 72 mm wide (the roll's printable width), without buttons or bars
    width_px = ticket.evaluate("t => t.getBoundingClientRect().width")
    assert abs(width_px - 72 / 25.4 * 96) < 2
    expect(ticket.get_by_role("button", name="Bump")).to_be_hidden()
    expect(page.locator(".kitchen-bar")).to_be_hidden()
    expect(page.locator(".all-day").first).to_be_hidden()
    expect(ticket).to_contain_text("No pickles, nut allergy <b>please</b>")
    SCREENSHOTS_DIR.mkdir(parents=True, exist_ok=True)
    page.set_viewport_size({"width": 320, "height": 600})
    ticket.screenshot(path=str(SCREENSHOTS_DIR / "kitchen-ticket-print-80mm.png"))
    page.pdf(
        path=str(SCREENSHOTS_DIR / "kitchen-ticket-80mm.pdf"),
        width="80mm",
        height="200mm",
        print_background=True,
    )
    assert (SCREENSHOTS_DIR / "kitchen-ticket-80mm.pdf").stat().st_size > 1000
    assert page.broken == []  # type: ignore[attr-defined]
