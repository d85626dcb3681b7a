"""Where rate-limit counters live: the shared cache, or this process's memory while it is away.

django-ratelimit counts in the cache named by RATELIMIT_USE_CACHE, which is
this backend. It passes every call on to the shared cache (OPTIONS["SHARED"],
Redis in production), so a budget holds across every instance. When the
shared cache cannot be reached, a limiter that raised would answer 500 on
every limited door, one that gave up would let anyone through, and
django-ratelimit's own answer to a failed count is to refuse everybody. So
the counting carries on in local memory instead: each process then keeps
its own counters, and a client could spend a budget once per process (two
gunicorn workers: about twice the budget) until the shared cache answers
again. Counts made in memory are not copied back; the shared counters go on
from where they were.

One warning is logged when an outage begins and one line when it ends. While
it lasts the shared cache is asked again only every
RATE_LIMIT_SHARED_RETRY_SECONDS, so a cache that hangs (rather than refusing
the connection) costs its socket timeout once per interval, not on every
request.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

import redis
from django.conf import settings
from django.core.cache import caches
from django.core.cache.backends.base import DEFAULT_TIMEOUT, BaseCache
from django.core.cache.backends.locmem import LocMemCache
from django_redis.exceptions import ConnectionInterrupted

logger = logging.getLogger(__name__)

# What a shared cache that cannot be reached raises: django-redis re-raises
# redis-py's own errors (BusyLoadingError, Redis still loading after a
# restart, is a ConnectionError too).
UNREACHABLE = (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError, ConnectionInterrupted)

# Per process, shared by its threads: LocMemCache keeps its data by this name.
_LOCAL_NAME = "brigade-rate-limits-fallback"
_LOCAL_MAX_ENTRIES = 50_000


class _Outage:
    """This process's view of the shared cache: reachable, or away since when."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._since: float | None = None
        self._retry_at = 0.0

    def use_local(self) -> bool:
        with self._lock:
            return self._since is not None and time.monotonic() < self._retry_at

    def failed(self, alias: str, error: Exception) -> None:
        now = time.monotonic()
        with self._lock:
            self._retry_at = now + settings.RATE_LIMIT_SHARED_RETRY_SECONDS
            if self._since is not None:
                return
            self._since = now
        logger.warning(
            "rate limits count in this process's memory: the shared cache cannot be reached",
            extra={"cache": alias, "error": type(error).__name__},
        )

    def answered(self, alias: str) -> None:
        with self._lock:
            if self._since is None:
                return
            seconds = time.monotonic() - self._since
            self._since = None
        logger.warning(
            "rate limits count in the shared cache again",
            extra={"cache": alias, "outage_seconds": round(seconds)},
        )


outage = _Outage()


class SharedOrLocalCache(BaseCache):
    """The shared cache named in OPTIONS["SHARED"], or local memory while it cannot be reached."""

    def __init__(self, location: str, params: dict[str, Any]) -> None:
        super().__init__(params)
        self._shared_alias = params.get("OPTIONS", {}).get("SHARED", "default")
        self._local = LocMemCache(_LOCAL_NAME, {"OPTIONS": {"MAX_ENTRIES": _LOCAL_MAX_ENTRIES}})

    def _call(self, method: str, *args: Any, **kwargs: Any) -> Any:
        if not outage.use_local():
            try:
                answer = getattr(caches[self._shared_alias], method)(*args, **kwargs)
            except UNREACHABLE as error:
                outage.failed(self._shared_alias, error)
            else:
                outage.answered(self._shared_alias)
                return answer
        return getattr(self._local, method)(*args, **kwargs)

    def add(
        self, key: str, value: Any, timeout: float | None = DEFAULT_TIMEOUT, version: int | None = None
    ) -> bool:
        return bool(self._call("add", key, value, timeout=timeout, version=version))

    def get(self, key: str, default: Any = None, version: int | None = None) -> Any:
        return self._call("get", key, default=default, version=version)

    def set(
        self, key: str, value: Any, timeout: float | None = DEFAULT_TIMEOUT, version: int | None = None
    ) -> None:
        self._call("set", key, value, timeout=timeout, version=version)

    def touch(self, key: str, timeout: float | None = DEFAULT_TIMEOUT, version: int | None = None) -> bool:
        return bool(self._call("touch", key, timeout=timeout, version=version))

    def incr(self, key: str, delta: int = 1, version: int | None = None) -> int:
        return int(self._call("incr", key, delta=delta, version=version))

    def delete(self, key: str, version: int | None = None) -> bool:
        return bool(self._call("delete", key, version=version))

    def has_key(self, key: str, version: int | None = None) -> bool:
        return bool(self._call("has_key", key, version=version))

    def clear(self) -> None:
        # Only this process's fallback counters: clearing the shared cache
        # belongs to whoever owns it, not to the rate limiter.
        self._local.clear()
