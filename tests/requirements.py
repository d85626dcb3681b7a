"""Skip a test whose service is missing, or fail it when CI demands every service.

`make test` on a bare machine skips (and names) what it cannot run; `.ci/run`
sets BRIGADE_REQUIRE_SERVICES=1 so that the same gap is a failure there.
"""

from __future__ import annotations

import os
import shutil

import pytest
from django.conf import settings

CHROMIUM = "/usr/bin/chromium"


def services_required() -> bool:
    return os.environ.get("BRIGADE_REQUIRE_SERVICES", "").lower() in {"1", "true", "yes"}


def need(available: bool, reason: str) -> None:
    if available:
        return
    if services_required():
        pytest.fail(f"{reason} (BRIGADE_REQUIRE_SERVICES is set, so this is a failure)", pytrace=False)
    pytest.skip(reason)


def has_postgres() -> bool:
    return "postgresql" in settings.DATABASES["default"]["ENGINE"]


def has_redis() -> bool:
    return bool(settings.REDIS_URL)


def has_redis_server_program() -> bool:
    return shutil.which("redis-server") is not None


def has_chromium() -> bool:
    return os.access(CHROMIUM, os.X_OK)


MARKER_NEEDS = {
    "postgres": (has_postgres, "needs PostgreSQL: set DATABASE_URL"),
    "redis": (has_redis, "needs Redis: set REDIS_URL"),
    "browser": (has_chromium, f"needs Debian's Chromium at {CHROMIUM} (apt-get install chromium)"),
}
