"""Request ids, JSON access logs and Sentry's privacy setting."""

from __future__ import annotations

import io
import json
import logging
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client
from pythonjsonlogger.json import JsonFormatter

from orders.models import Order
from restaurant.observability import RequestIdFilter, sentry_scrub_paths
from tests.orders.flows import add_to_cart, checkout

REPO_ROOT = Path(__file__).resolve().parents[2]
FRESH_ID = re.compile(r"^[0-9a-f]{32}$")


# ---------------------------------------------------------------- request ids


def test_a_sane_request_id_from_the_caller_is_returned_unchanged() -> None:
    # Given a proxy that sends its own request id
    # When the request is served
    response = Client().get("/healthz", headers={"X-Request-ID": "abc-123"})

    # Then the same id comes back
    assert response["X-Request-ID"] == "abc-123"


def test_a_request_without_an_id_gets_a_fresh_one() -> None:
    # Given two requests that carry no id
    # When they are served
    first = Client().get("/healthz")
    second = Client().get("/healthz")

    # Then each gets its own fresh 32-hex id
    assert FRESH_ID.match(first["X-Request-ID"])
    assert FRESH_ID.match(second["X-Request-ID"])
    assert first["X-Request-ID"] != second["X-Request-ID"]


@pytest.mark.parametrize(
    "hostile",
    [
        pytest.param("x" * 500, id="too-long"),
        pytest.param("abc\n123", id="newline"),
        pytest.param("abc 123", id="space"),
        pytest.param('abc"}{"level":"CRITICAL', id="json-injection"),
    ],
)
def test_a_hostile_request_id_is_replaced_by_a_fresh_one(hostile: str) -> None:
    # Given a caller that sends an id that could forge or break log lines
    # When the request is served
    response = Client().get("/healthz", headers={"X-Request-ID": hostile})

    # Then the id is replaced by a fresh one
    assert response["X-Request-ID"] != hostile
    assert FRESH_ID.match(response["X-Request-ID"])


# ---------------------------------------------------------------- access log


@pytest.fixture
def access_log_lines() -> Iterator[io.StringIO]:
    """The brigade.access logger, formatted and filtered exactly as settings.LOGGING says."""
    formatter_config = {
        key: value for key, value in settings.LOGGING["formatters"]["json"].items() if key != "()"
    }
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter(**formatter_config))
    handler.addFilter(RequestIdFilter())
    logger = logging.getLogger("brigade.access")
    previous_level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        yield stream
    finally:
        logger.removeHandler(handler)
        logger.setLevel(previous_level)


def test_every_request_writes_one_json_access_line_carrying_its_request_id(
    access_log_lines: io.StringIO,
) -> None:
    # Given a request with an id
    # When it is served
    response = Client().get("/healthz", headers={"X-Request-ID": "abc-123"})

    # Then exactly one JSON access line describes it, under the same id
    assert response.status_code == 200
    lines = access_log_lines.getvalue().splitlines()
    assert len(lines) == 1, lines
    entry = json.loads(lines[0])
    assert entry["request_id"] == "abc-123"
    assert entry["method"] == "GET"
    assert entry["route"] == "healthz"
    assert entry["status"] == 200
    assert entry["level"] == "INFO"
    assert entry["logger"] == "brigade.access"
    assert entry["message"] == "request finished"
    assert "time" in entry
    assert isinstance(entry["duration_ms"], int | float)


def test_the_access_line_carries_the_fresh_id_the_response_was_given(
    access_log_lines: io.StringIO,
) -> None:
    # Given a request without an id
    # When it is served
    response = Client().get("/healthz")

    # Then its access line carries the id the response was given
    entry = json.loads(access_log_lines.getvalue().splitlines()[-1])
    assert entry["request_id"] == response["X-Request-ID"]


@pytest.mark.django_db
def test_an_order_page_is_logged_by_its_route_never_by_its_tracking_token(
    access_log_lines: io.StringIO, small_menu
) -> None:
    # Given a guest's order, whose link is the guest's only credential
    client = Client()
    add_to_cart(client, small_menu.fries)
    assert checkout(client).status_code == 302
    order = Order.objects.get()
    order_url, token = order.get_absolute_url(), order.tracking_token

    # When the order page and a mistyped link under it are opened
    assert client.get(order_url).status_code == 200
    assert client.get(order_url + "no-such-page/").status_code == 404

    # Then the access lines name the route, and the token is in none of them
    log = access_log_lines.getvalue()
    assert token not in log
    routes = [json.loads(line).get("route") for line in log.splitlines()]
    assert "orders/<str:token>/" in routes
    assert None in routes  # the 404 matched no route and says so
    assert all("path" not in json.loads(line) for line in log.splitlines())


# ---------------------------------------------------------------- Sentry

_PRINT_SENTRY_CLIENT = """
import json

import django

django.setup()
import sentry_sdk

client = sentry_sdk.get_client()
before_send = client.options.get("before_send")
print(json.dumps({
    "active": client.is_active(),
    "send_default_pii": client.options["send_default_pii"],
    "before_send": getattr(before_send, "__name__", None),
}))
"""


def sentry_client_in_a_fresh_process(tmp_path: Path, **variables: str) -> dict[str, object]:
    ignored = {"DATABASE_URL", "REDIS_URL", "SENTRY_DSN", "DJANGO_ENV"}
    env = {name: value for name, value in os.environ.items() if name not in ignored}
    env.update(DJANGO_SETTINGS_MODULE="restaurant.settings", BRIGADE_VAR_DIR=str(tmp_path), **variables)
    result = subprocess.run(
        [sys.executable, "-c", _PRINT_SENTRY_CLIENT],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=90,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_sentry_reports_errors_without_personal_data_when_a_dsn_is_set(tmp_path: Path) -> None:
    # Given a DSN (syntactically valid; nothing is ever sent to it)
    # When Django starts
    client = sentry_client_in_a_fresh_process(tmp_path, SENTRY_DSN="https://public@127.0.0.1:9/1")

    # Then Sentry is on, with personal data off and paths scrubbed
    assert client["active"] is True
    assert client["send_default_pii"] is False
    assert client["before_send"] == sentry_scrub_paths.__name__


def test_an_error_report_names_the_route_not_the_tracking_token() -> None:
    # Given an error event as the Django integration builds it for an order page
    token = "Zq3v" * 11
    event = {
        "transaction": "/orders/{token}/",
        "request": {"url": f"https://b.example/orders/{token}/", "query_string": f"t={token}"},
    }

    # When it is prepared for sending
    sent = sentry_scrub_paths(event, {})

    # Then it carries the route only
    assert token not in json.dumps(sent)
    assert sent["request"]["url"] == "/orders/{token}/"


def test_sentry_stays_off_without_a_dsn(tmp_path: Path) -> None:
    # Given no DSN
    # When Django starts
    client = sentry_client_in_a_fresh_process(tmp_path)

    # Then no Sentry client is active
    assert client["active"] is False
