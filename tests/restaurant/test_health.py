"""Liveness and readiness probes, including a real Redis outage and recovery."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection
from django.test import Client

from tests.harness.daphne import answers_healthz, daphne_command
from tests.harness.processes import Processes, free_port, wait_until
from tests.harness.redis_server import start_redis
from tests.requirements import has_redis_server_program, need

REPO_ROOT = Path(__file__).resolve().parents[2]
SERVER_START_SECONDS = 20

RECOVERY_SECONDS = 10
HTTP_TIMEOUT_SECONDS = 10


# ---------------------------------------------------------------- in-process probes


def test_healthz_answers_ok_without_touching_any_service() -> None:
    # Given a running process (and no database access allowed in this test)
    # When the load balancer asks whether it is alive
    response = Client().get("/healthz")

    # Then it answers ok
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert "no-cache" in response["Cache-Control"]


@pytest.mark.django_db
def test_readyz_answers_ok_with_every_configured_service_checked() -> None:
    # Given whatever services this run is configured with (real PostgreSQL and Redis in CI)
    expected_cache = "redis" if settings.REDIS_URL else "local memory"

    # When the orchestrator asks whether the process is ready
    response = Client().get("/readyz")

    # Then every check ran against its configured backend and passed
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["status"] == "ok"
    checks = body["checks"]
    assert set(checks) == {"database", "cache", "channel_layer", "broker"}
    assert all(check["ok"] for check in checks.values()), checks
    assert checks["database"]["backend"] == connection.vendor
    assert checks["cache"]["backend"] == expected_cache


# ---------------------------------------------------------------- a real server and a real outage


def get(url: str) -> tuple[int, dict[str, object]]:
    try:
        with urllib.request.urlopen(url, timeout=HTTP_TIMEOUT_SECONDS) as response:  # noqa: S310 - our own URL
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def test_readyz_says_degraded_naming_redis_when_it_stops_and_ok_when_it_returns(
    tmp_path: Path, processes: Processes
) -> None:
    need(has_redis_server_program(), "needs the redis-server program")

    # Given the product served by daphne on SQLite and a throwaway Redis of its own
    redis_port = free_port()
    redis_dir = tmp_path / "redis"
    redis_dir.mkdir()
    redis_server = start_redis(redis_port, redis_dir, processes)

    env = {
        name: value
        for name, value in os.environ.items()
        if name not in {"DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL", "DJANGO_ENV", "SENTRY_DSN"}
    }
    env.update(
        DJANGO_SETTINGS_MODULE="restaurant.settings",
        REDIS_URL=f"redis://127.0.0.1:{redis_port}/0",
        BRIGADE_VAR_DIR=str(tmp_path / "var"),
    )
    migrate = subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v0"],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert migrate.returncode == 0, migrate.stderr

    http_port = free_port()
    server = processes.start(daphne_command(http_port), name="daphne", env=env)
    base = f"http://127.0.0.1:{http_port}"
    server.wait_ready(lambda: answers_healthz(base), timeout=SERVER_START_SECONDS)
    status, body = get(f"{base}/readyz")
    assert status == 200, body

    # When Redis stops
    redis_server.kill()
    redis_server.wait(timeout=10)

    # Then the product stays in service (it serves from the database) but says it is degraded, naming Redis
    status, body = get(f"{base}/readyz")
    assert status == 200, body
    assert body["status"] == "degraded"
    assert body["services"] == {"database": "ok", "redis": "down"}, body
    assert "cache (redis)" in body["failed"], body
    assert all("(redis)" in failure for failure in body["failed"]), body

    # When Redis comes back on the same port
    start_redis(redis_port, redis_dir, processes)

    # Then the product is fully ready again without a restart
    def ready() -> bool:
        return get(f"{base}/readyz")[1]["status"] == "ok"

    wait_until(
        ready,
        timeout=RECOVERY_SECONDS,
        what="/readyz answering ok after Redis returned",
        explain=server.explain,
    )
    assert get(f"{base}/readyz")[1]["services"] == {"database": "ok", "redis": "ok"}
