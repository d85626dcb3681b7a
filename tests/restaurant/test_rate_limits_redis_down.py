"""While Redis is away the limiter neither fails the door (500) nor stops limiting: it counts in the
process's memory, says so once, and counts in Redis again when Redis is back."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
import redis
from django.core.cache import caches
from django.test import Client
from django.urls import reverse

from tests.harness.processes import free_port, wait_until
from tests.harness.redis_server import start_redis
from tests.requirements import has_redis_server_program, need

pytestmark = pytest.mark.django_db

CLIENT_IP = "203.0.113.9"
FALLBACK = "rate limits count in this process's memory: the shared cache cannot be reached"
BACK = "rate limits count in the shared cache again"


@pytest.fixture
def own_redis(settings, processes, tmp_path: Path):
    """The app's caches on a redis-server of this test's own, which the test may stop and start."""
    need(has_redis_server_program(), "needs the redis-server program")
    port = free_port()
    workdir = tmp_path / "redis"
    workdir.mkdir()
    server = {"process": start_redis(port, workdir, processes)}
    shared = {
        "BACKEND": "django_redis.cache.RedisCache",
        "LOCATION": f"redis://127.0.0.1:{port}/0",
        "OPTIONS": {"SOCKET_CONNECT_TIMEOUT": 1, "SOCKET_TIMEOUT": 1},
    }
    settings.CACHES = {
        "default": shared,
        "waffle": {**shared, "OPTIONS": {**shared["OPTIONS"], "IGNORE_EXCEPTIONS": True}},
        "rate_limits": {
            "BACKEND": "restaurant.rate_limit_cache.SharedOrLocalCache",
            "OPTIONS": {"SHARED": "default"},
        },
    }
    settings.WAFFLE_CACHE_NAME = "waffle"
    # Sessions on the database only: this test is about the limiter, not the session store.
    settings.SESSION_ENGINE = "django.contrib.sessions.backends.db"
    settings.RATE_LIMIT_SHARED_RETRY_SECONDS = 0
    caches["rate_limits"].clear()  # this process's fallback counters, from earlier tests

    class OwnRedis:
        client = redis.Redis(host="127.0.0.1", port=port)

        def counters(self) -> int:
            return len(self.client.keys("*rl:*"))

        def stop(self) -> None:
            server["process"].stop()

        def start(self) -> None:
            server["process"] = start_redis(port, workdir, processes)

            def answers_through_the_app() -> bool:
                # The app's connection pool drops its dead connections on first use.
                try:
                    caches["default"].get("warm-up")
                except redis.exceptions.ConnectionError:
                    return False
                return True

            wait_until(answers_through_the_app, timeout=10, what="the app's cache reaching Redis again")

    yield OwnRedis()
    OwnRedis.client.close()


def _messages(caplog, text: str) -> int:
    return sum(record.getMessage() == text for record in caplog.records)


def test_cart_limits_hold_per_process_while_redis_is_away_and_return_to_redis(
    own_redis, small_menu, settings, caplog
):
    caplog.set_level(logging.INFO, logger="restaurant.rate_limit_cache")
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "cart": "4/m/ip"}
    client = Client(REMOTE_ADDR=CLIENT_IP)

    def add():
        return client.post(reverse("orders:cart_add"), {"item": small_menu.fries.pk, "quantity": 1})

    # Given two additions counted in Redis
    assert [add().status_code for _ in range(2)] == [302, 302]
    assert own_redis.counters() == 1

    # When Redis goes away
    own_redis.stop()
    during = [add() for _ in range(6)]

    # Then nothing fails and the budget still holds, counted afresh in this process's memory
    assert [answer.status_code for answer in during] == [302, 302, 302, 302, 429, 429]
    assert during[0]["RateLimit-Remaining"] == "3"
    assert int(during[-1]["Retry-After"]) > 0
    assert _messages(caplog, FALLBACK) == 1  # once for the outage, not once per request

    # When Redis is back (empty, as a restarted Redis without persistence is)
    own_redis.start()
    after = add()

    # Then counting is in Redis again, from Redis's own count
    assert after.status_code == 302
    assert after["RateLimit-Remaining"] == "3"
    assert own_redis.counters() == 1
    assert _messages(caplog, BACK) == 1
    assert _messages(caplog, FALLBACK) == 1


def test_the_sign_in_limiter_keeps_limiting_while_redis_is_away(own_redis, settings):
    settings.SIGN_IN_RATE_PER_IP = "2/m"
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "sign_up": "100/m/ip"}
    client = Client(REMOTE_ADDR=CLIENT_IP)
    own_redis.stop()

    statuses = [
        client.post(reverse("account_signup"), {"email": "not-an-address"}).status_code for _ in range(3)
    ]

    assert statuses == [200, 200, 429]
