"""Kitchen pacing from the cache: the rules and opening hours kept per pacing version, a change seen
at once here and on other instances, the recent prep time kept a short while, the database when Redis
is gone, and what the checkout costs in queries."""

from __future__ import annotations

import re
import time as clock
from datetime import datetime, timedelta

import pytest
import requests
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.roles import Actor
from orders.models import KitchenPacing, OpeningHours, Order, OrderEvent, OrderStatus
from orders.pacing.cache import pacing_config
from orders.pacing.selectors import KITCHEN_CLOSED, pacing_quote, slot_ceil
from orders.services import order_transition
from tests.conftest import client_for
from tests.harness import daphne as daphne_harness
from tests.harness.processes import free_port
from tests.harness.redis_server import caches_on, start_redis
from tests.orders.flows import add_to_cart, checkout_token, pickup_details, place
from tests.requirements import has_redis_server_program, need

daphne_instance = daphne_harness.daphne_instance

PACING_URL = "/admin/orders/kitchenpacing/1/change/"
TILL = Actor.system("test-till")
READY_AT = re.compile(r'data-ready="([^"]+)"')
CSRF_FIELD = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


def _cooking(menu, chef) -> Order:  # type: ignore[no-untyped-def]
    order = order_transition(order=place(menu), to_status=OrderStatus.PAID, actor=TILL)
    return order_transition(order=order, to_status=OrderStatus.IN_PREPARATION, actor=chef)


def _ready(order: Order, chef: Actor, *, minutes: int) -> None:
    """Ready `minutes` after its payment, by the audit trail."""
    order_transition(order=order, to_status=OrderStatus.READY, actor=chef)
    paid_at = timezone.now() - timedelta(hours=2)
    OrderEvent.objects.filter(order=order, to_status=OrderStatus.PAID).update(created_at=paid_at)
    OrderEvent.objects.filter(order=order, to_status=OrderStatus.READY).update(
        created_at=paid_at + timedelta(minutes=minutes)
    )


def _rules_form(**fields: str) -> dict[str, str]:
    return {
        "orders_per_slot": "12",
        "items_per_slot": "",
        "hard_cap_orders": "40",
        "default_prep_minutes": "15",
        "schedule_days_ahead": "2",
        "opening_hours-TOTAL_FORMS": "0",
        "opening_hours-INITIAL_FORMS": "0",
        "opening_hours-MIN_NUM_FORMS": "0",
        "opening_hours-MAX_NUM_FORMS": "1000",
        **fields,
    }


def _opening_later_today() -> datetime:
    """A quarter-hour three hours from now: an opening from there is closed now."""
    return timezone.localtime(slot_ceil(timezone.now() + timedelta(hours=3)))


def _closed_now() -> OpeningHours:
    """The only opening: two hours from three hours from now."""
    opens = _opening_later_today()
    closes = (opens + timedelta(hours=2)).time()
    return OpeningHours.objects.create(
        pacing_id=1, weekday=opens.weekday(), opens=opens.time(), closes=closes
    )


def _reads(captured: CaptureQueriesContext, *tables: str) -> list[str]:
    return [
        q["sql"]
        for q in captured.captured_queries
        if q["sql"].startswith("SELECT") and any(f'"{table}"' in q["sql"] for table in tables)
    ]


# What is kept: the rules, the opening hours, and the prep time measured from the audit trail.
KEPT = ("orders_kitchenpacing", "orders_openinghours", "orders_orderevent")


# ---------------------------------------------------------------- in one process


@pytest.mark.django_db
def test_a_managers_change_in_admin_shows_in_the_next_quote_once_it_commits(
    actors, django_capture_on_commit_callbacks
):
    manager = client_for(actors.manager)
    with django_capture_on_commit_callbacks(execute=True):
        KitchenPacing.objects.get_or_create(pk=1)
    assert pacing_quote(items=1).prep_minutes == 15
    with CaptureQueriesContext(connection) as captured:
        pacing_quote(items=1)
    assert _reads(captured, *KEPT) == []

    # Written, not committed: another process reading now would see the old rows, so the copy stays.
    with django_capture_on_commit_callbacks(execute=False) as pending:
        assert manager.post(PACING_URL, _rules_form(default_prep_minutes="40")).status_code == 302
    assert pacing_quote(items=1).prep_minutes == 15
    for callback in pending:
        callback()
    assert pacing_quote(items=1).prep_minutes == 40

    # An opening added inline closes the kitchen now; deleting it opens it again.
    opens = _opening_later_today()
    closes = opens + timedelta(hours=2)
    with django_capture_on_commit_callbacks(execute=True):
        saved = manager.post(
            PACING_URL,
            _rules_form(
                default_prep_minutes="40",
                **{
                    "opening_hours-TOTAL_FORMS": "1",
                    "opening_hours-0-weekday": str(opens.weekday()),
                    "opening_hours-0-opens": f"{opens:%H:%M}",
                    "opening_hours-0-closes": f"{closes:%H:%M}",
                },
            ),
        )
    assert saved.status_code == 302
    assert pacing_quote(items=1).refusal == KITCHEN_CLOSED

    hours = OpeningHours.objects.get()
    with django_capture_on_commit_callbacks(execute=True):
        deleted = manager.post(
            PACING_URL,
            _rules_form(
                default_prep_minutes="40",
                **{
                    "opening_hours-TOTAL_FORMS": "1",
                    "opening_hours-INITIAL_FORMS": "1",
                    "opening_hours-0-id": str(hours.pk),
                    "opening_hours-0-pacing": "1",
                    "opening_hours-0-weekday": str(hours.weekday),
                    "opening_hours-0-opens": f"{hours.opens:%H:%M}",
                    "opening_hours-0-closes": f"{hours.closes:%H:%M}",
                    "opening_hours-0-DELETE": "on",
                },
            ),
        )
    assert deleted.status_code == 302 and not OpeningHours.objects.exists()
    assert pacing_quote(items=1).refusal_code == ""


@pytest.mark.django_db
def test_the_demo_seed_shows_in_the_next_quote(django_capture_on_commit_callbacks):
    assert pacing_config().hours == ()

    with django_capture_on_commit_callbacks(execute=True):
        call_command("seed_demo_pacing", "--hard-cap", "3", verbosity=0)

    config = pacing_config()
    assert len(config.hours) == 7 and config.rules.hard_cap_orders == 3
    assert pacing_quote(items=1).rules.hard_cap_orders == 3


# ---------------------------------------------------------------- the recent prep time


@pytest.mark.django_db
def test_the_recent_prep_time_is_kept_a_short_while_then_measured_again(small_menu, actors, settings):
    settings.PACING_PREP_CACHE_SECONDS = 1.5
    chef = Actor.for_user(actors.chef)
    # Given three orders cooking and none finished yet: the manager's default is quoted, and kept
    cooking = [_cooking(small_menu, chef) for _ in range(3)]
    assert pacing_quote(items=1).prep_minutes == 15
    kept_at = clock.monotonic()

    # When they are ready, 30 minutes after their payment
    for order in cooking:
        _ready(order, chef, minutes=30)

    # Then quotes go on with what was kept until it runs out, and then measure them
    assert pacing_quote(items=1).prep_minutes == 15
    clock.sleep(max(0.0, kept_at + 1.6 - clock.monotonic()))
    assert pacing_quote(items=1).prep_minutes == 30


@pytest.mark.django_db
def test_a_managers_default_prep_time_applies_to_a_kept_measurement_at_once(
    small_menu, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        rules, _ = KitchenPacing.objects.get_or_create(pk=1)
    assert pacing_quote(items=1).prep_minutes == 15  # too few finished orders: kept as such

    with django_capture_on_commit_callbacks(execute=True):
        rules.default_prep_minutes = 25
        rules.save()

    assert pacing_quote(items=1).prep_minutes == 25


# ---------------------------------------------------------------- what a checkout costs


@pytest.fixture
def busy_kitchen(small_menu, actors, django_capture_on_commit_callbacks):  # type: ignore[no-untyped-def]
    """Open all day, five finished orders in its history and one cooking."""
    with django_capture_on_commit_callbacks(execute=True):
        call_command("seed_demo_pacing", verbosity=0)
    chef = Actor.for_user(actors.chef)
    for _ in range(5):
        _ready(_cooking(small_menu, chef), chef, minutes=20)
    order_transition(order=place(small_menu), to_status=OrderStatus.PAID, actor=TILL)
    return small_menu


@pytest.mark.django_db
def test_the_checkout_page_reads_only_the_live_load_once_the_rules_are_kept(
    client, busy_kitchen, django_assert_max_num_queries
):
    add_to_cart(client, busy_kitchen.fries, 2)
    add_to_cart(client, busy_kitchen.burger, 1, [busy_kitchen.medium])
    assert client.get(reverse("orders:checkout")).status_code == 200  # the rules and prep time kept

    # The kitchen's load, the slots' loads, and the session's new checkout token (3 statements).
    with django_assert_max_num_queries(5), CaptureQueriesContext(connection) as captured:
        page = client.get(reverse("orders:checkout"))

    assert page.status_code == 200 and READY_AT.search(page.content.decode())
    assert _reads(captured, *KEPT) == []


@pytest.mark.django_db
def test_a_checkout_reads_the_kitchens_rules_not_once(client, busy_kitchen, django_assert_max_num_queries):
    add_to_cart(client, busy_kitchen.fries, 2)
    add_to_cart(client, busy_kitchen.burger, 1, [busy_kitchen.medium])
    token = checkout_token(client)

    # Pacing's share: the kitchen's load and the slots' (2), the slot's lock and its count (2).
    with django_assert_max_num_queries(30), CaptureQueriesContext(connection) as captured:
        placed = client.post(reverse("orders:checkout"), {"checkout_token": token, **pickup_details()})

    assert placed.status_code == 302 and placed["Location"].startswith("/sandbox/pay/")
    assert _reads(captured, *KEPT) == []


# ---------------------------------------------------------------- across processes


@pytest.mark.postgres
@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_a_change_made_here_shows_at_once_on_two_other_instances(small_menu, daphne_instance):
    instances = [daphne_instance(), daphne_instance()]
    # One visitor with a cart; sessions are shared, and cookies are per host, not per port.
    visitor = requests.Session()
    item_page = visitor.get(f"{instances[0].url}{small_menu.fries.get_absolute_url()}", timeout=10)
    csrf = CSRF_FIELD.search(item_page.text).group(1)  # type: ignore[union-attr]
    added = visitor.post(
        f"{instances[0].url}/cart/add/",
        data={"csrfmiddlewaretoken": csrf, "item": small_menu.fries.pk, "quantity": 1},
        timeout=10,
        allow_redirects=False,
    )
    assert added.status_code == 302, instances[0].log()

    def checkout_pages() -> list[str]:
        pages = [visitor.get(f"{instance.url}/checkout/", timeout=10) for instance in instances]
        assert [page.status_code for page in pages] == [200, 200], [i.log() for i in instances]
        return [page.text for page in pages]

    def ready_at(page: str) -> datetime:
        return datetime.fromisoformat(READY_AT.search(page).group(1))  # type: ignore[union-attr]

    for page in checkout_pages():  # both instances keep the defaults: 15 minutes
        assert ready_at(page) <= timezone.now() + timedelta(minutes=25)

    # Committed in this process (autocommit), as a manager's save in admin on a third instance.
    KitchenPacing.objects.update_or_create(pk=1, defaults={"default_prep_minutes": 120})
    for page in checkout_pages():
        assert ready_at(page) >= timezone.now() + timedelta(minutes=115)

    _closed_now()
    for page in checkout_pages():
        assert KITCHEN_CLOSED in page and not READY_AT.search(page)


# ---------------------------------------------------------------- Redis gone


@pytest.mark.django_db
def test_with_redis_gone_the_quote_reads_the_database(
    client, small_menu, processes, tmp_path, settings, django_capture_on_commit_callbacks
):
    need(has_redis_server_program(), "needs the redis-server program")
    port = free_port()
    redis_server = start_redis(port, tmp_path, processes)
    settings.CACHES = caches_on(settings.CACHES, port)
    with django_capture_on_commit_callbacks(execute=True):
        KitchenPacing.objects.get_or_create(pk=1)
    add_to_cart(client, small_menu.fries, 1)
    assert pacing_quote(items=1).refusal_code == ""  # kept in this Redis

    redis_server.kill()

    page = client.get(reverse("orders:checkout"))
    assert page.status_code == 200 and READY_AT.search(page.content.decode())
    # A change while Redis is away still shows: every quote reads the rows.
    with django_capture_on_commit_callbacks(execute=True):
        _closed_now()
    assert pacing_quote(items=1).refusal == KITCHEN_CLOSED
    assert KITCHEN_CLOSED in client.get(reverse("orders:checkout")).content.decode()
