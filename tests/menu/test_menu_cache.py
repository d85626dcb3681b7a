"""The cached menu: versions bumped after commit, seen across processes, one rebuild per
version under a stampede, ETag and 304, nothing personal shared, the database when Redis is gone."""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests
from django.contrib.auth.models import Group
from django.core.cache import cache
from django.test import Client
from waffle.models import Flag

from accounts.vip import VIP_GROUP
from menu.cache import REBUILDS_KEY
from menu.flags import VIP_SPECIALS_FLAG
from menu.money import format_money
from menu.pages import CACHE_CONTROL
from menu.services import menu_items_set_availability
from tests.conftest import client_for
from tests.factories import MenuItemFactory, UserFactory
from tests.harness import daphne as daphne_harness
from tests.harness.daphne import answers_healthz
from tests.harness.processes import Process, Processes, free_port
from tests.harness.redis_server import caches_on, start_redis
from tests.harness.worker import worker_env
from tests.orders.flows import add_to_cart
from tests.requirements import has_redis_server_program, need

daphne_instance = daphne_harness.daphne_instance


def _entry(page: str, slug: str) -> str:
    return page.split(f'data-item="{slug}"')[1].split("</li>")[0]


def _rebuilds() -> int:
    return int(cache.get(REBUILDS_KEY) or 0)


# ---------------------------------------------------------------- in one process


@pytest.mark.django_db
def test_a_change_shows_once_it_commits_and_a_cached_menu_costs_no_query(
    small_menu, django_capture_on_commit_callbacks, django_assert_num_queries
):
    guest = Client()
    assert format_money(400) in _entry(guest.get("/menu/").content.decode(), "fries")
    with django_assert_num_queries(0):
        assert guest.get("/menu/").status_code == 200
        assert guest.get(small_menu.burger.get_absolute_url()).status_code == 200

    with django_capture_on_commit_callbacks(execute=False) as pending:
        small_menu.fries.price_minor = 450
        small_menu.fries.save()
    # Not committed yet: another process reading now would see the old rows.
    assert format_money(400) in _entry(guest.get("/menu/").content.decode(), "fries")
    for callback in pending:
        callback()
    assert format_money(450) in _entry(guest.get("/menu/").content.decode(), "fries")

    with django_capture_on_commit_callbacks(execute=True):
        small_menu.rare.is_available = False
        small_menu.rare.save()
    assert "(sold out)" in guest.get(small_menu.burger.get_absolute_url()).content.decode()


# ---------------------------------------------------------------- ETag, 304 and what is never shared


@pytest.mark.django_db
def test_a_guest_revalidates_with_the_etag_and_gets_304_until_the_menu_changes(
    small_menu, django_capture_on_commit_callbacks
):
    guest = Client()
    first = guest.get("/menu/")
    etag = first["ETag"]
    assert first["Cache-Control"] == CACHE_CONTROL == "private, no-cache"

    again = guest.get("/menu/", HTTP_IF_NONE_MATCH=etag)
    assert again.status_code == 304 and again.content == b""
    assert again["ETag"] == etag and again["Cache-Control"] == CACHE_CONTROL

    with django_capture_on_commit_callbacks(execute=True):
        menu_items_set_availability(item_ids=[small_menu.fries.pk], available=False)
    changed = guest.get("/menu/", HTTP_IF_NONE_MATCH=etag)
    assert changed.status_code == 200 and changed["ETag"] != etag
    assert "Sold out" in _entry(changed.content.decode(), "fries")


@pytest.mark.django_db
def test_an_item_page_revalidates_once_the_visitor_has_a_csrf_cookie(small_menu):
    guest = Client()
    url = small_menu.burger.get_absolute_url()
    # The first visit sets the CSRF cookie the form needs: that page is this render's own.
    assert "ETag" not in guest.get(url)
    page = guest.get(url)
    assert guest.get(url, HTTP_IF_NONE_MATCH=page["ETag"]).status_code == 304
    # Another visitor with their own cookie has another ETag.
    other = Client()
    other.get(url)
    assert other.get(url, HTTP_IF_NONE_MATCH=page["ETag"]).status_code == 200


@pytest.mark.django_db
def test_a_cart_count_is_never_shared_and_changes_the_etag(small_menu):
    shopper, guest = Client(), Client()
    assert guest.get("/menu/").status_code == 200  # the guests' page is kept now
    assert add_to_cart(shopper, small_menu.fries, 2).status_code == 302
    with_message = shopper.get("/menu/")
    # The page showing "Added …" shows it once: never a 304 or an ETag for it.
    assert "Added 2 × Fries" in with_message.content.decode() and "ETag" not in with_message
    page = shopper.get("/menu/")
    assert '<span aria-hidden="true">2</span>' in page.content.decode()

    assert 'class="badge"' not in guest.get("/menu/").content.decode()
    assert Client().get("/menu/", HTTP_IF_NONE_MATCH=page["ETag"]).status_code == 200

    add_to_cart(shopper, small_menu.fries, 1)
    shopper.get("/menu/")  # the message
    assert shopper.get("/menu/", HTTP_IF_NONE_MATCH=page["ETag"]).status_code == 200
    assert 'class="badge"' not in guest.get("/menu/").content.decode()


@pytest.mark.django_db
def test_a_vips_specials_and_name_never_reach_another_visitor(small_menu, actors):
    flag, _ = Flag.objects.get_or_create(name=VIP_SPECIALS_FLAG)
    flag.everyone = None
    flag.save()
    flag.groups.add(Group.objects.get_or_create(name=VIP_GROUP)[0])
    MenuItemFactory(category=small_menu.fries.category, slug="caviar", name="Caviar", is_special=True)
    vip = UserFactory(username="vera", role="customer")
    vip.is_vip = True
    vip.save()

    vip_client = client_for(vip)
    vip_client.get("/menu/")  # sets the CSRF cookie of the sign-out form
    vip_page = vip_client.get("/menu/")
    assert 'data-item="caviar"' in vip_page.content.decode() and "Sign out" in vip_page.content.decode()

    for other in (Client(), client_for(actors.customer)):
        page = other.get("/menu/")
        assert 'data-item="caviar"' not in page.content.decode()
        assert other.get("/menu/", HTTP_IF_NONE_MATCH=vip_page["ETag"]).status_code == 200
    assert "Sign out" not in Client().get("/menu/").content.decode()
    assert vip_client.get("/menu/", HTTP_IF_NONE_MATCH=vip_page["ETag"]).status_code == 304


# ---------------------------------------------------------------- across processes


@pytest.mark.postgres
@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_a_change_made_here_shows_at_once_on_two_other_instances(small_menu, daphne_instance):
    instances = [daphne_instance(), daphne_instance()]
    for instance in instances:
        page = requests.get(f"{instance.url}/menu/", timeout=10).text
        assert "Sold out" not in _entry(page, "fries"), instance.log()

    # Committed in this process (autocommit), as an admin's 86 would be on a third instance.
    menu_items_set_availability(item_ids=[small_menu.fries.pk], available=False)
    small_menu.lemonade.price_minor = 375
    small_menu.lemonade.save()

    for instance in instances:
        page = requests.get(f"{instance.url}/menu/", timeout=10).text
        assert "Sold out" in _entry(page, "fries"), instance.log()
        assert format_money(375) in _entry(page, "lemonade"), instance.log()


@pytest.fixture
def threaded_gunicorn(
    transactional_db: None, processes: Processes, tmp_path: Path
) -> Iterator[Callable[[], str]]:
    """gunicorn, 2 workers of 25 threads each: 50 requests really at once, in two processes."""
    started: list[Process] = []

    def start() -> str:
        port = free_port()
        env = worker_env(
            None,
            extra={
                "ALLOWED_HOSTS": "127.0.0.1,localhost",
                "BRIGADE_VAR_DIR": str(tmp_path),
                # Generous, so a slow machine never makes a waiting process build too.
                "MENU_REBUILD_WAIT_SECONDS": "60",
                "MENU_REBUILD_LOCK_SECONDS": "60",
            },
        )
        argv = [sys.executable, "-m", "gunicorn", "-w", "2", "-k", "gthread", "--threads", "25"]
        process = processes.start(
            [*argv, "-b", f"127.0.0.1:{port}", "restaurant.wsgi"], name=f"gunicorn {port}", env=env
        )
        started.append(process)
        url = f"http://127.0.0.1:{port}"
        process.wait_ready(lambda: answers_healthz(url), timeout=30)
        return url

    yield start
    for process in started:
        process.stop(timeout=10)


def _at_once(url: str, count: int) -> list[requests.Response]:
    ready = threading.Barrier(count)

    def one(_: int) -> requests.Response:
        ready.wait(timeout=30)
        return requests.get(url, timeout=60)

    with ThreadPoolExecutor(max_workers=count) as pool:
        return list(pool.map(one, range(count)))


@pytest.mark.postgres
@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_fifty_requests_at_once_after_a_version_bump_rebuild_the_menu_once(small_menu, threaded_gunicorn):
    url = threaded_gunicorn() + "/menu/"
    assert _rebuilds() == 0  # the fixture's commits bumped the version; nobody built it

    # Cold: no process holds any menu; one builds, 49 wait for it.
    answers = _at_once(url, 50)
    assert [answer.status_code for answer in answers] == [200] * 50
    assert all(format_money(400) in _entry(answer.text, "fries") for answer in answers)
    assert _rebuilds() == 1, "the cold menu was built more than once"

    # A price change bumps the version: one rebuild again, the others serve
    # the version they hold or wait for the new one.
    small_menu.fries.price_minor = 425
    small_menu.fries.save()
    answers = _at_once(url, 50)
    assert [answer.status_code for answer in answers] == [200] * 50
    shown = {_entry(answer.text, "fries") for answer in answers}
    assert all(format_money(400) in entry or format_money(425) in entry for entry in shown)
    assert _rebuilds() == 2, "the new version was built more than once"
    assert format_money(425) in _entry(requests.get(url, timeout=10).text, "fries")
    assert _rebuilds() == 2


# ---------------------------------------------------------------- Redis gone


@pytest.mark.django_db
def test_with_redis_gone_the_menu_is_read_from_the_database(small_menu, processes, tmp_path, settings):
    need(has_redis_server_program(), "needs the redis-server program")
    port = free_port()
    redis_server = start_redis(port, tmp_path, processes)
    settings.CACHES = caches_on(settings.CACHES, port)
    guest = Client()
    assert "ETag" in guest.get("/menu/")

    redis_server.kill()

    page = guest.get("/menu/")
    assert page.status_code == 200 and "ETag" not in page
    assert format_money(1200) in _entry(page.content.decode(), "burger")
    assert guest.get(small_menu.burger.get_absolute_url()).status_code == 200
    # A change while Redis is away still shows: every page reads the rows.
    menu_items_set_availability(item_ids=[small_menu.fries.pk], available=False)
    assert "Sold out" in _entry(guest.get("/menu/").content.decode(), "fries")
