"""The product's settings as the suite runs them, in one process or several.

pytest-xdist runs the suite in worker processes (`make test` starts one per
core). pytest-django already gives each worker a test database of its own;
this gives each worker a Redis database of its own (the base index plus the
worker's number), so one worker's cache, rate limits, Celery queues and
channel-layer groups are never another's. Programs a test starts (daphne, a
Celery worker) inherit the worker's REDIS_URL and load restaurant.settings.
"""

from __future__ import annotations

import os
from urllib.parse import urlsplit, urlunsplit

from django.core.exceptions import ImproperlyConfigured

# Redis's default `databases 16`.
REDIS_DATABASES = 16


def _worker_redis_url(base: str, worker: str) -> str:
    parts = urlsplit(base)
    index = int(parts.path.strip("/") or 0) + int(worker.removeprefix("gw"))
    if index >= REDIS_DATABASES:
        raise ImproperlyConfigured(
            f"pytest-xdist worker {worker} would use Redis database {index} of {base}: "
            f"start from a lower index or run fewer workers (PYTEST_WORKERS)."
        )
    return urlunsplit(parts._replace(path=f"/{index}"))


_worker = os.environ.get("PYTEST_XDIST_WORKER")
if _worker and os.environ.get("REDIS_URL"):
    # Kept so that reloading these settings (a test that does) shifts from
    # the base again instead of twice.
    _base = os.environ.setdefault("BRIGADE_TEST_BASE_REDIS_URL", os.environ["REDIS_URL"])
    os.environ["REDIS_URL"] = _worker_redis_url(_base, _worker)
    if os.environ.get("CELERY_BROKER_URL") == _base:
        os.environ["CELERY_BROKER_URL"] = os.environ["REDIS_URL"]

from restaurant.settings import *  # noqa: E402, F403
