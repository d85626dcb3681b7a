"""Liveness and readiness probes for load balancers and orchestrators.

/healthz says the process answers. /readyz says whether it can do its work:
the database, the cache, the channel layer and the Celery broker are each
probed for real with a short timeout, so a dead dependency cannot hang the probe.

Only the database decides readiness (503). Without Redis the pages and the
API keep answering from PostgreSQL (README "When Redis or PostgreSQL goes
away"), and Redis is shared by every instance: answering 503 for it would
make the load balancer take every instance out at once and turn a degraded
site into no site. So a Redis outage answers 200 with "status": "degraded",
and names what is down ("services": {"database": "ok", "redis": "down"}).
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


# Checks whose failure makes the instance unable to serve: readiness fails on these alone.
REQUIRED_CHECKS = frozenset({"database"})
# Backends that are a server of their own, named in "services" (the others live in the process).
NETWORK_BACKENDS = frozenset({"redis", "rediss", "amqp", "amqps"})

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
    services: dict[str, str] = {}
    for name, check in CHECKS.items():
        try:
            backend = check()
            results[name] = {"ok": True, "backend": backend}
        except Exception as exc:  # noqa: BLE001 - any failure means this part is down
            backend = _configured_backend(name)
            # The exception class is enough to act on; its text may hold hosts.
            results[name] = {"ok": False, "backend": backend, "error": type(exc).__name__}
            failed.append(f"{name} ({backend})")
            logger.warning("readiness check failed", extra={"check": name, "backend": backend})
        service = "database" if name == "database" else backend
        if service == "database" or service in NETWORK_BACKENDS:
            down = not results[name]["ok"] or services.get(service) == "down"
            services[service] = "down" if down else "ok"
    body = {"status": "ok", "services": services, "failed": failed, "checks": results}
    if any(name in REQUIRED_CHECKS and not result["ok"] for name, result in results.items()):
        return JsonResponse({**body, "status": "unavailable"}, status=503)
    if failed:
        return JsonResponse({**body, "status": "degraded"})
    return JsonResponse(body)


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
