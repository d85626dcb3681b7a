"""Kitchen pacing: the ready time checkout quotes, the slots it offers, and what it refuses.

Rules about instants (opening hours across summer time, the prep time from
the audit trail) are asked of the selectors at a given moment; what the
customer sees and sends goes through the checkout page.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, time, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

import pytest
from django.core.management import CommandError, call_command
from django.test import TestCase
from django.urls import reverse
from django.utils import timezone

from accounts.roles import Actor
from orders.models import KitchenPacing, OpeningHours, Order, OrderEvent, OrderStatus, PacingSlot
from orders.pacing.selectors import (
    ASAP,
    CLOSES_FIRST,
    KITCHEN_CLOSED,
    KITCHEN_FULL,
    SLOT,
    kitchen_load,
    opening_windows,
    pacing_quote,
    recent_prep_minutes,
    round_up_promise,
    slot_ceil,
    slot_floor,
    slot_loads,
    slots_in,
)
from orders.pacing.services import SLOT_FULL, SLOT_UNAVAILABLE
from orders.pricing import CartLine
from orders.services import OrderDetails, order_place, order_transition
from tests.concurrency import run_simultaneously
from tests.conftest import client_for
from tests.factories import UserFactory
from tests.orders.flows import add_to_cart, checkout, place

DUBLIN = ZoneInfo("Europe/Dublin")
TILL = Actor.system("test-till")


@pytest.fixture(autouse=True)
def _dublin(settings):  # type: ignore[no-untyped-def]
    settings.TIME_ZONE = "Europe/Dublin"


def committed():  # type: ignore[no-untyped-def]
    """As a manager's save is: committed, so the pacing version moves (orders.pacing.cache)."""
    return TestCase.captureOnCommitCallbacks(execute=True)


def pacing(**fields: object) -> KitchenPacing:
    with committed():
        rules, _ = KitchenPacing.objects.get_or_create(pk=1)
        for name, value in fields.items():
            setattr(rules, name, value)
        rules.save()
    return rules


def opening(weekday: int, opens: time, closes: time) -> OpeningHours:
    with committed():
        return OpeningHours.objects.create(pacing=pacing(), weekday=weekday, opens=opens, closes=closes)


def local(*args: int) -> datetime:
    return datetime(*args, tzinfo=DUBLIN).astimezone(UTC)  # type: ignore[misc]


def paid(order: Order) -> Order:
    return order_transition(order=order, to_status=OrderStatus.PAID, actor=TILL)


def checkout_page(client) -> str:  # type: ignore[no-untyped-def]
    page = client.get(reverse("orders:checkout"))
    assert page.status_code == 200
    return page.content.decode()


def offered_slots(html: str) -> list[str]:
    return re.findall(r'<option value="([0-9T:+-]{20,})"', html)


# ---------------------------------------------------------------- opening hours and slots


@pytest.mark.django_db
def test_opening_hours_are_restaurant_time_in_summer_and_in_winter():
    opening(2, time(12, 0), time(14, 0))  # Wednesdays

    summer = opening_windows(start=local(2026, 7, 1, 0, 0), end=local(2026, 7, 2, 0, 0))
    winter = opening_windows(start=local(2026, 12, 2, 0, 0), end=local(2026, 12, 3, 0, 0))

    assert [(w.opens, w.closes) for w in summer] == [
        (datetime(2026, 7, 1, 11, 0, tzinfo=UTC), datetime(2026, 7, 1, 13, 0, tzinfo=UTC))
    ]
    assert [(w.opens, w.closes) for w in winter] == [
        (datetime(2026, 12, 2, 12, 0, tzinfo=UTC), datetime(2026, 12, 2, 14, 0, tzinfo=UTC))
    ]


@pytest.mark.django_db
def test_a_late_evening_across_the_clock_change_has_as_many_slots_as_real_quarter_hours():
    # Given Saturdays from 22:00 to 03:00: five hours on an ordinary night
    opening(5, time(22, 0), time(3, 0))

    def slots_of(start: datetime) -> list[datetime]:
        windows = opening_windows(start=start, end=start + timedelta(days=1))
        return slots_in(windows, not_before=start, until=start + timedelta(days=1))

    ordinary = slots_of(local(2026, 10, 17, 12, 0))
    autumn = slots_of(local(2026, 10, 24, 12, 0))  # clocks go back at 02:00 on Sunday 25 October
    spring = slots_of(local(2027, 3, 27, 12, 0))  # clocks go forward at 01:00 on Sunday 28 March

    assert len(ordinary) == 20
    assert len(autumn) == 24  # 01:00 to 02:00 happens twice
    assert len(spring) == 16  # 01:00 to 02:00 never happens
    assert autumn[0] == local(2026, 10, 24, 22, 0) and autumn[-1] + SLOT == local(2026, 10, 25, 3, 0)
    assert all(b - a == SLOT for a, b in pairwise(spring))


@pytest.mark.django_db
def test_with_no_opening_hours_entered_the_kitchen_is_always_open():
    now = datetime(2026, 12, 2, 3, 7, tzinfo=UTC)
    quote = pacing_quote(items=1, now=now)
    assert quote.refusal_code == "" and quote.asap_ready is not None


@pytest.mark.django_db
def test_the_demo_restaurant_takes_orders_for_as_soon_as_possible_at_any_hour():
    call_command("seed_demo_pacing", verbosity=0)
    call_command("seed_demo_pacing", verbosity=0)  # safe to run again
    assert OpeningHours.objects.count() == 7
    assert KitchenPacing.objects.get().orders_per_slot == 12

    for moment in (local(2026, 12, 6, 23, 58), local(2026, 12, 7, 0, 0), local(2026, 7, 1, 13, 0)):
        quote = pacing_quote(items=1, now=moment)
        # Sunday night runs into Monday with no closing in between
        assert quote.refusal_code == "", moment
        assert quote.asap_ready == round_up_promise(moment + timedelta(minutes=15))


@pytest.mark.django_db
def test_a_load_test_seeds_a_kitchen_large_enough_for_its_uncooked_orders():
    call_command("seed_demo_pacing", "--orders-per-slot", "5000", "--hard-cap", "10000", verbosity=0)
    rules = KitchenPacing.objects.get()
    assert (rules.orders_per_slot, rules.hard_cap_orders) == (5000, 10000)
    with pytest.raises(CommandError):
        call_command("seed_demo_pacing", "--hard-cap", "0", verbosity=0)


# ---------------------------------------------------------------- the quote


@pytest.mark.django_db
def test_the_quote_is_the_median_of_recent_orders_prep_plus_the_queue_ahead(small_menu, actors, settings):
    # The history below is made between quotes, faster than a prep time is kept: measured on each.
    settings.PACING_PREP_CACHE_SECONDS = 0
    # Given five finished orders: four took 30 minutes from payment to ready, one 90
    chef = Actor.for_user(actors.chef)
    pacing(orders_per_slot=50, default_prep_minutes=15)
    start = timezone.now() - timedelta(hours=3)
    for n, minutes in enumerate((30, 30, 90, 30, 30)):
        order = paid(place(small_menu))
        order = order_transition(order=order, to_status=OrderStatus.IN_PREPARATION, actor=chef)
        order_transition(order=order, to_status=OrderStatus.READY, actor=chef)
        paid_at = start + timedelta(minutes=10 * n)
        OrderEvent.objects.filter(order=order, to_status=OrderStatus.PAID).update(created_at=paid_at)
        OrderEvent.objects.filter(order=order, to_status=OrderStatus.READY).update(
            created_at=paid_at + timedelta(minutes=minutes)
        )
    assert recent_prep_minutes(default=15) == 30

    # And five paid orders waiting in the kitchen, two slots' worth at two per slot
    for _ in range(5):
        paid(place(small_menu))
    pacing(orders_per_slot=2)
    now = timezone.now()

    quote = pacing_quote(items=1, now=now)

    assert (quote.prep_minutes, quote.load_orders) == (30, 5)
    assert quote.earliest_ready == now + timedelta(minutes=30) + 2 * SLOT
    assert quote.asap_ready == round_up_promise(quote.earliest_ready)


@pytest.mark.django_db
def test_with_too_few_finished_orders_the_managers_prep_time_is_quoted():
    pacing(default_prep_minutes=25)
    now = timezone.now()
    assert pacing_quote(items=1, now=now).earliest_ready == now + timedelta(minutes=25)


@pytest.mark.django_db
def test_checkout_shows_the_ready_time_and_later_slots_before_paying(client, small_menu):
    add_to_cart(client, small_menu.fries, 2)
    before = pacing_quote(items=2)

    html = checkout_page(client)

    after = pacing_quote(items=2)
    shown = re.search(r"Ready around <strong>(\d\d:\d\d)</strong>", html).group(1)
    assert shown in {timezone.localtime(q.asap_ready).strftime("%H:%M") for q in (before, after)}  # type: ignore[arg-type]
    assert 'value="asap" selected' in html
    slots = offered_slots(html)
    assert len(slots) > 8
    first = datetime.fromisoformat(slots[0])
    assert first == slot_ceil(first) and first >= before.earliest_ready


@pytest.mark.django_db
def test_a_picked_slot_stays_picked_when_the_form_comes_back_with_an_error(client, small_menu):
    add_to_cart(client, small_menu.fries, 1)
    picked = offered_slots(checkout_page(client))[3]

    refused = checkout(client, when=picked, contact_email="not an address")

    assert refused.status_code == 400
    html = refused.content.decode()
    assert f'<option value="{picked}" selected>' in html and 'value="asap" selected' not in html
    local = timezone.localtime(datetime.fromisoformat(picked))
    assert f"{local:%a} {local.day} {local:%b}, {local:%H:%M}</option>" in html


@pytest.mark.django_db
def test_an_order_of_several_lines_counts_once_with_all_its_items(small_menu):
    # Given a paid order of two lines (2 fries, 3 lemonades) for a later slot, and one of 4 fries now
    pacing(orders_per_slot=50)
    slot = pacing_quote(items=1).open_slots[2].starts_at
    two_lines, _ = order_place(
        lines=[CartLine(small_menu.fries.pk, 2), CartLine(small_menu.lemonade.pk, 3, (small_menu.large.pk,))],
        details=OrderDetails(order_type="pickup", contact_name="Ada", contact_email="ada@example.test"),
        actor=Actor.guest(),
        pickup=slot,
    )
    paid(two_lines)
    paid(place(small_menu, quantity=4))

    # Then its slot holds one order of five items, and the kitchen two orders of nine once it is due
    assert slot_loads([slot]) == {slot: (1, 5)}
    assert kitchen_load(now=timezone.now()) == (1, 4)
    assert kitchen_load(now=slot) == (2, 9)


# ---------------------------------------------------------------- refusals


@pytest.mark.django_db
def test_above_the_hard_cap_asap_is_refused_and_a_later_slot_is_taken(client, small_menu):
    # Given a kitchen with its hard cap of two paid orders reached
    pacing(hard_cap_orders=2)
    paid(place(small_menu))
    paid(place(small_menu))
    add_to_cart(client, small_menu.fries, 1)

    # Then checkout says so before paying, and offers no "as soon as possible"
    html = checkout_page(client)
    assert KITCHEN_FULL in html and 'value="asap"' not in html
    later = offered_slots(html)[2]

    # When the customer sends "as soon as possible" anyway, nothing is written
    refused = checkout(client, when="asap")
    assert refused.status_code == 409
    assert KITCHEN_FULL in refused.content.decode()
    assert Order.objects.count() == 2

    # And a later slot is accepted, promised for that time and held back from the kitchen
    response = checkout(client, when=later)
    assert response.status_code == 302 and response["Location"].startswith("/sandbox/pay/")
    order = Order.objects.latest("pk")
    slot = datetime.fromisoformat(later)
    assert (order.slot_starts_at, order.promised_at) == (slot, slot)
    assert order.kitchen_release_at == slot - timedelta(minutes=15)
    page = client.get(order.get_absolute_url()).content.decode()
    assert "Scheduled for" in page and timezone.localtime(slot).strftime("%H:%M") in page


@pytest.mark.django_db
def test_outside_opening_hours_orders_can_only_be_scheduled_in_the_next_opening(client, small_menu):
    # Given the only opening starts three hours from now and lasts two
    opens = timezone.localtime(slot_ceil(timezone.now() + timedelta(hours=3)))
    opening(opens.weekday(), opens.time(), (opens + timedelta(hours=2)).time())
    add_to_cart(client, small_menu.fries, 1)

    html = checkout_page(client)

    assert KITCHEN_CLOSED in html and 'value="asap"' not in html
    slots = [datetime.fromisoformat(s) for s in offered_slots(html)]
    assert slots[0] == opens.astimezone(UTC) and len(slots) == 8
    assert checkout(client, when="asap").status_code == 409
    assert not Order.objects.exists()
    assert checkout(client, when=slots[-1].isoformat()).status_code == 302
    assert Order.objects.get().promised_at == slots[-1]


@pytest.mark.django_db
def test_an_order_that_could_not_be_ready_before_closing_must_be_scheduled():
    # Given Wednesdays 12:00 to 14:00, and 15 minutes' prep
    opening(2, time(12, 0), time(14, 0))

    at_13_40 = pacing_quote(items=1, now=local(2026, 12, 2, 13, 40))
    at_13_50 = pacing_quote(items=1, now=local(2026, 12, 2, 13, 50))

    # Ready 13:55 is still inside the last slot; ready 14:05 is after closing
    assert at_13_40.refusal_code == "" and at_13_40.asap_ready == local(2026, 12, 2, 13, 55)
    assert (at_13_50.refusal_code, at_13_50.refusal) == ("kitchen_closed", CLOSES_FIRST)
    # And the next opening's slots are on offer instead
    assert at_13_50.open_slots[0].starts_at == local(2026, 12, 9, 12, 0)


@pytest.mark.django_db
@pytest.mark.parametrize(
    "when",
    [
        "tomorrow",
        "12:45",
        "2026-13-01T12:00:00+00:00",
        "2026-12-02T12:00:00",
        "0001-01-01T00:00:00+05:00",
        "x" * 41,
    ],
)
def test_a_pickup_time_that_is_not_a_time_is_a_form_error(client, small_menu, when):
    add_to_cart(client, small_menu.fries, 1)
    response = checkout(client, when=when)
    assert response.status_code == 400
    assert not Order.objects.exists()


@pytest.mark.django_db
def test_a_crafted_past_misaligned_closed_or_distant_slot_is_refused(client, small_menu):
    # Given Sunday evenings only
    opening(6, time(18, 0), time(22, 0))
    add_to_cart(client, small_menu.fries, 1)
    offered = [datetime.fromisoformat(s) for s in offered_slots(checkout_page(client))]
    next_monday_noon = max(offered).astimezone(DUBLIN).replace(hour=12) + timedelta(days=1)

    crafted = [
        slot_floor(timezone.now()) - SLOT,  # past
        offered[0] + timedelta(minutes=7),  # not a slot
        next_monday_noon.astimezone(UTC),  # closed
        offered[0] + timedelta(days=21),  # beyond what may be scheduled
    ]
    for when in crafted:
        response = checkout(client, when=when.isoformat())
        assert response.status_code == 400, when
        assert SLOT_UNAVAILABLE in response.content.decode()
    assert not Order.objects.exists() and not PacingSlot.objects.exists()


@pytest.mark.django_db
def test_a_full_slot_is_no_longer_offered_and_a_crafted_post_for_it_is_a_conflict(client, small_menu):
    # Given one order a slot, and the first offered slot taken
    pacing(orders_per_slot=1)
    add_to_cart(client, small_menu.fries, 1)
    first = offered_slots(checkout_page(client))[0]
    place(small_menu, pickup=datetime.fromisoformat(first))

    assert first not in offered_slots(checkout_page(client))
    response = checkout(client, when=first)

    assert response.status_code == 409 and SLOT_FULL in response.content.decode()
    assert Order.objects.count() == 1


@pytest.mark.django_db
def test_item_capacity_counts_the_items_of_the_orders_in_a_slot(small_menu):
    pacing(orders_per_slot=50, items_per_slot=5)
    slot = pacing_quote(items=1).open_slots[0].starts_at
    place(small_menu, pickup=slot, quantity=4)

    assert pacing_quote(items=1).slot(slot).has_room  # type: ignore[union-attr]
    assert not pacing_quote(items=2).slot(slot).has_room  # type: ignore[union-attr]


@pytest.mark.django_db
def test_asap_orders_spill_into_the_next_slot_and_a_cancelled_order_frees_its_place(small_menu):
    pacing(orders_per_slot=1)
    first = place(small_menu)
    second = place(small_menu)

    assert second.slot_starts_at == first.slot_starts_at + SLOT  # type: ignore[operator]
    assert second.promised_at == second.slot_starts_at

    order_transition(order=first, to_status=OrderStatus.CANCELLED, actor=TILL, reason="test")
    assert place(small_menu).slot_starts_at == first.slot_starts_at


@pytest.mark.django_db
def test_a_table_order_taken_by_a_waiter_is_not_paced(small_menu, actors, floor_tables):
    pacing(hard_cap_orders=1)
    paid(place(small_menu))
    order, _ = order_place(
        lines=[CartLine(small_menu.fries.pk, 1)],
        details=OrderDetails(
            order_type="dine_in", table_number="4", contact_name="T4", contact_email="t@x.test"
        ),
        actor=Actor.for_user(actors.waiter),
        pickup=ASAP,
    )
    assert order.promised_at is None and order.slot_starts_at is None


# ---------------------------------------------------------------- the race for the last place


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_checkouts_for_the_last_place_in_a_slot_exactly_one_gets_it(small_menu):
    pacing(orders_per_slot=2)
    slot = pacing_quote(items=1).open_slots[3].starts_at
    place(small_menu, pickup=slot)  # one place left
    customers = [UserFactory() for _ in range(2)]

    def book(user):  # type: ignore[no-untyped-def]
        return lambda: order_place(
            lines=[CartLine(small_menu.fries.pk, 1)],
            details=OrderDetails(order_type="pickup", contact_name="A", contact_email=user.email),
            actor=Actor.for_user(user),
            pickup=slot,
        )

    outcomes = run_simultaneously(book(customers[0]), book(customers[1]))

    won = [o for o in outcomes if isinstance(o, tuple)]
    lost = [o for o in outcomes if isinstance(o, Exception)]
    assert len(won) == 1 and len(lost) == 1, outcomes
    assert getattr(lost[0], "code", None) == "slot_full"
    assert Order.objects.filter(slot_starts_at=slot).count() == 2


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_asap_checkouts_for_the_last_place_one_moves_to_the_next_slot(small_menu):
    pacing(orders_per_slot=1)
    asap_slot = pacing_quote(items=1).asap_slots[0]

    outcomes = run_simultaneously(lambda: place(small_menu), lambda: place(small_menu))

    assert all(isinstance(o, Order) for o in outcomes), outcomes
    assert sorted(o.slot_starts_at for o in outcomes) == [asap_slot, asap_slot + SLOT]  # type: ignore[union-attr]


# ---------------------------------------------------------------- managers in admin


PACING_URL = "/admin/orders/kitchenpacing/1/change/"


@pytest.mark.django_db
def test_a_manager_sets_capacity_and_opening_hours_in_admin_and_checkout_follows(client, actors, small_menu):
    manager = client_for(actors.manager)
    assert manager.get(PACING_URL).status_code == 200

    response = manager.post(
        PACING_URL,
        {
            "orders_per_slot": "6",
            "items_per_slot": "",
            "hard_cap_orders": "1",
            "default_prep_minutes": "20",
            "schedule_days_ahead": "3",
            "opening_hours-TOTAL_FORMS": "2",
            "opening_hours-INITIAL_FORMS": "0",
            "opening_hours-MIN_NUM_FORMS": "0",
            "opening_hours-MAX_NUM_FORMS": "1000",
            "opening_hours-0-weekday": "4",
            "opening_hours-0-opens": "12:00",
            "opening_hours-0-closes": "15:00",
            "opening_hours-1-weekday": "4",
            "opening_hours-1-opens": "18:10",
            "opening_hours-1-closes": "23:00",
        },
    )

    # A time off the quarter-hour is refused with the reason, and nothing is saved
    assert response.status_code == 200 and "Use a quarter-hour" in response.content.decode()
    assert not OpeningHours.objects.exists()

    response = manager.post(
        PACING_URL,
        {
            "orders_per_slot": "6",
            "items_per_slot": "",
            "hard_cap_orders": "1",
            "default_prep_minutes": "20",
            "schedule_days_ahead": "3",
            "opening_hours-TOTAL_FORMS": "1",
            "opening_hours-INITIAL_FORMS": "0",
            "opening_hours-MIN_NUM_FORMS": "0",
            "opening_hours-MAX_NUM_FORMS": "1000",
            "opening_hours-0-weekday": "4",
            "opening_hours-0-opens": "00:00",
            "opening_hours-0-closes": "00:00",
        },
    )
    assert response.status_code == 302
    rules = KitchenPacing.objects.get()
    assert (rules.orders_per_slot, rules.hard_cap_orders, rules.default_prep_minutes) == (6, 1, 20)
    assert [str(h) for h in OpeningHours.objects.all()] == ["Friday 00:00–00:00"]
    assert manager.get("/admin/orders/kitchenpacing/1/delete/").status_code == 403


@pytest.mark.django_db
def test_an_asap_order_page_says_when_it_will_be_ready(client, small_menu):
    add_to_cart(client, small_menu.fries, 1)
    assert checkout(client, when="asap").status_code == 302

    order = Order.objects.get()
    page = client.get(order.get_absolute_url()).content.decode()

    assert order.promised_at is not None and not order.is_scheduled()
    assert f"Ready around <strong>{timezone.localtime(order.promised_at).strftime('%H:%M')}</strong>" in page
