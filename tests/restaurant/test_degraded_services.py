"""Pages while a service is away: sessions without Redis, 503 without the database.

Sessions are cached_db on a throwaway redis-server of the test's own, killed
and started again; the database is made unreachable by pointing the
connection at a port where nothing listens.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
import redis
from django.db import OperationalError, ProgrammingError, connection
from django.test import Client

from restaurant import error_views, sessions
from tests.conftest import client_for
from tests.harness.processes import Process, Processes, free_port
from tests.harness.redis_server import start_redis
from tests.orders.flows import add_to_cart, checkout
from tests.requirements import has_redis_server_program, need

# ---------------------------------------------------------------- sessions while Redis is away


@dataclass
class OwnRedis:
    port: int
    workdir: Path
    processes: Processes
    server: Process

    def save(self) -> None:
        """Writes the dump file a restart loads, as a Redis with persistence has."""
        client = redis.Redis(port=self.port)
        client.save()
        client.close()

    def kill(self) -> None:
        self.server.kill()

    def start(self) -> None:
        self.server = start_redis(self.port, self.workdir, self.processes)


@pytest.fixture
def own_redis(settings, processes: Processes, tmp_path: Path, monkeypatch) -> OwnRedis:  # type: ignore[no-untyped-def]
    need(has_redis_server_program(), "needs the redis-server program")
    port = free_port()
    workdir = tmp_path / "redis"
    workdir.mkdir()
    server = start_redis(port, workdir, processes)
    own = {
        "BACKEND": "django_redis.cache.RedisCache",
        "LOCATION": f"redis://127.0.0.1:{port}/0",
        "OPTIONS": {"SOCKET_CONNECT_TIMEOUT": 1, "SOCKET_TIMEOUT": 1},
    }
    # Every alias the product has, on this Redis, shaped as the settings shape them.
    settings.CACHES = {
        **settings.CACHES,
        "default": own,
        "waffle": {**own, "OPTIONS": {**own["OPTIONS"], "IGNORE_EXCEPTIONS": True}, "TIMEOUT": 60},
    }
    # Every request in these tests tries the cache again, rather than resting after a failure.
    monkeypatch.setattr(sessions, "RETRY_AFTER_SECONDS", 0)
    return OwnRedis(port=port, workdir=workdir, processes=processes, server=server)


def _cart_page(client: Client) -> str:
    page = client.get("/cart/")
    assert page.status_code == 200, page.status_code
    return page.content.decode()


@pytest.mark.django_db
def test_a_cart_keeps_working_from_the_database_while_redis_is_away(own_redis, small_menu):
    # Given a customer with fries in the cart, and a visitor who has not come yet
    customer = Client()
    add_to_cart(customer, small_menu.fries)
    newcomer = Client()

    # When Redis goes away
    own_redis.kill()

    # Then the cart is read from the database, changes are kept there, and checkout places the order
    assert "Fries" in _cart_page(customer)
    assert add_to_cart(customer, small_menu.lemonade, options=[small_menu.large]).status_code == 302
    assert "Lemonade" in _cart_page(customer)
    placed = checkout(customer)
    assert placed.status_code == 302 and "/sandbox/pay/" in placed["Location"]
    # And a new visitor gets a session too
    assert newcomer.get("/menu/").status_code == 200
    assert add_to_cart(newcomer, small_menu.fries).status_code == 302
    assert "Fries" in _cart_page(newcomer)


@pytest.mark.django_db
def test_a_cart_emptied_while_redis_was_away_stays_empty_when_redis_returns_with_its_old_copy(
    own_redis, small_menu
):
    # Given fries in a cart, its session cached in a Redis that keeps a dump file
    customer = Client()
    add_to_cart(customer, small_menu.fries)
    assert "Fries" in _cart_page(customer)
    own_redis.save()

    # When Redis goes away, the customer empties the cart, and Redis comes back from its dump
    own_redis.kill()
    line = customer.session["cart"][0]["id"]
    assert customer.post("/cart/remove/", {"line": line}).status_code == 302
    own_redis.start()

    # Then the cart is empty: the old copy in Redis was dropped, not served
    assert "Fries" not in _cart_page(customer)


@pytest.mark.django_db
def test_a_sign_out_while_redis_was_away_is_not_undone_when_redis_returns_with_its_old_copy(
    own_redis, actors
):
    # Given a signed-in customer, the session cached in a Redis that keeps a dump file
    customer = client_for(actors.customer)
    assert customer.get("/orders/").status_code == 200
    stolen_cookie = customer.cookies["sessionid"].value
    own_redis.save()

    # When Redis goes away, the customer signs out, and Redis comes back from its dump
    own_redis.kill()
    assert customer.post("/accounts/logout/").status_code == 302
    own_redis.start()

    # Then the old session cookie opens nothing
    replay = Client()
    replay.cookies["sessionid"] = stolen_cookie
    answer = replay.get("/orders/")
    assert answer.status_code == 302 and "/accounts/login/" in answer["Location"]


# ---------------------------------------------------------------- the broker away


def test_an_enqueue_after_the_broker_went_away_fails_at_once_rather_than_reconnecting(own_redis, settings):
    # Given a producer configured as the product configures it, connected to a live broker
    from celery import Celery

    # Not the current app: the tasks other tests send must keep their own broker.
    with Celery("brigade-broker-outage", set_as_current=False) as app:
        app.config_from_object("django.conf:settings", namespace="CELERY")
        app.conf.broker_url = f"redis://127.0.0.1:{own_redis.port}/0"
        app.conf.task_always_eager = False
        app.send_task("brigade.none", retry=False)

        # When the broker dies, and a request enqueues twice (the relay, then its fallback)
        own_redis.kill()
        failures = []
        started = time.monotonic()
        for _ in range(2):
            try:
                app.send_task("brigade.none", retry=False)
            except Exception as error:  # noqa: BLE001 - any refusal counts; the time it took is the point
                failures.append(type(error).__name__)
        took = time.monotonic() - started

    # Then both fail after one refused connection each; kombu's own reconnecting
    # (broker_connection_timeout, 4 s and more) would keep the request, and the
    # clock rows its publishing transaction holds, waiting
    assert failures == ["OperationalError", "OperationalError"]
    assert took < 3.0, f"two enqueues took {took:.1f} s with the broker down"


# ---------------------------------------------------------------- the database away


@contextmanager
def database_unreachable() -> Iterator[None]:
    """Points this process's connection at a loopback port where nothing listens."""
    saved = dict(connection.settings_dict)
    connection.close()
    connection.settings_dict.update(HOST="127.0.0.1", PORT=str(free_port()))
    try:
        yield
    finally:
        connection.close()
        connection.settings_dict.clear()
        connection.settings_dict.update(saved)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_while_the_database_cannot_be_reached_pages_answer_503_with_retry_after(small_menu):
    browser = Client(raise_request_exception=False)
    program = Client(raise_request_exception=False, headers={"Accept": "application/json"})

    # When the database cannot be reached
    with database_unreachable():
        page = browser.get("/menu/")
        item = browser.get(f"/menu/{small_menu.fries.slug}/")
        api = program.get("/menu/")
        ready = browser.get("/readyz")

    # Then people get the "back in a moment" page and programs the JSON error body, both with Retry-After
    for answer in (page, item):
        assert answer.status_code == 503
        assert answer["Retry-After"] == "5"
        assert "Back in a moment" in answer.content.decode()
    assert api.status_code == 503 and api["Retry-After"] == "5"
    assert api.json()["error"]["code"] == "unavailable"
    # And readiness takes the instance out, naming the database
    assert ready.status_code == 503
    assert ready.json()["status"] == "unavailable"
    assert ready.json()["services"]["database"] == "down"

    # And once the database answers again, so do the pages
    assert browser.get("/menu/").status_code == 200


def test_a_database_outage_is_told_from_a_bug_along_exception_chains_that_loop():
    # Given a bug in a query, wrapped, its chain looping back on itself (as re-raised exceptions do)
    bug = ProgrammingError("relation does not exist")
    wrapper = RuntimeError("while rendering")
    wrapper.__cause__, bug.__context__ = bug, wrapper
    # And a lost connection under a cache error, looping the same way
    lost = OperationalError("server closed the connection unexpectedly")
    cache_error = ConnectionError("cache away")
    cache_error.__context__, lost.__context__ = lost, cache_error

    # Then the bug answers 500 and the lost connection 503, and neither hangs
    assert not error_views.database_unreachable(wrapper)
    assert error_views.database_unreachable(cache_error)
