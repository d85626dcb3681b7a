"""Liveness and readiness probes for load balancers and orchestrators.

/healthz says the process answers. /readyz says it can do its work: the
database, the cache, the channel layer and the Celery broker all answer, each
probed for real with a short timeout so a dead dependency cannot hang the probe.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable
from urllib.parse import urlsplit

import redis
from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

logger = logging.getLogger(__name__)

PROBE_TIMEOUT_SECONDS = 1.5


def _backend_name(url: str) -> str:
    return urlsplit(url).scheme.split("+")[0] or "unknown"


def _ping_redis(url: str) -> None:
    client = redis.Redis.from_url(
        url,
        socket_connect_timeout=PROBE_TIMEOUT_SECONDS,
        socket_timeout=PROBE_TIMEOUT_SECONDS,
    )
    try:
        client.ping()
    finally:
        client.close()


def _cache_backend() -> str:
    return "redis" if "redis" in str(settings.CACHES["default"]["BACKEND"]).lower() else "local memory"


def _channel_layer_backend() -> str:
    return "redis" if "redis" in settings.CHANNEL_LAYERS["default"]["BACKEND"].lower() else "in-memory"


def check_database() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()
    return connection.vendor


def check_cache() -> str:
    key = f"readyz:{secrets.token_hex(8)}"
    cache.set(key, "1", timeout=5)
    if cache.get(key) != "1":
        raise RuntimeError("cache did not return what was written")
    cache.delete(key)
    return _cache_backend()


def check_channel_layer() -> str:
    if _channel_layer_backend() != "redis":
        return "in-memory"
    for host in settings.CHANNEL_LAYERS["default"]["CONFIG"]["hosts"]:
        _ping_redis(host["address"] if isinstance(host, dict) else host)
    return "redis"


def check_broker() -> str:
    if settings.CELERY_TASK_ALWAYS_EAGER:
        return "eager (no broker)"
    url = settings.CELERY_BROKER_URL
    if _backend_name(url) in {"redis", "rediss"}:
        _ping_redis(url)
    else:
        from restaurant.celery import app

        with app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=PROBE_TIMEOUT_SECONDS)
    return _backend_name(url)


CHECKS: dict[str, Callable[[], str]] = {
    "database": check_database,
    "cache": check_cache,
    "channel_layer": check_channel_layer,
    "broker": check_broker,
}


@require_safe
@never_cache
def healthz(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "ok"})


@require_safe
@never_cache
def readyz(request: HttpRequest) -> JsonResponse:
    results: dict[str, dict[str, object]] = {}
    failed: list[str] = []
    for name, check in CHECKS.items():
        try:
            results[name] = {"ok": True, "backend": check()}
        except Exception as exc:  # noqa: BLE001 - any failure means "not ready"
            backend = _configured_backend(name)
            # The exception class is enough to act on; its text may hold hosts.
            results[name] = {"ok": False, "backend": backend, "error": type(exc).__name__}
            failed.append(f"{name} ({backend})")
            logger.warning("readiness check failed", extra={"check": name, "backend": backend})
    if failed:
        return JsonResponse({"status": "unavailable", "failed": failed, "checks": results}, status=503)
    return JsonResponse({"status": "ok", "checks": results})


def _configured_backend(name: str) -> str:
    if name == "database":
        return connection.vendor
    if name == "cache":
        return _cache_backend()
    if name == "channel_layer":
        return _channel_layer_backend()
    if settings.CELERY_TASK_ALWAYS_EAGER:
        return "eager (no broker)"
    return _backend_name(settings.CELERY_BROKER_URL)
