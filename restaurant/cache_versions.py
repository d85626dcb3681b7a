"""Versions in the shared cache: what every process keeps a copy of, and every writer moves after commit.

A version is a random token under "<name>:version" in the default cache
(Redis in production). What is read from the database is kept under the
version it was read at; a write that changes it replaces the token once its
transaction has committed (before, another process could read the rows as
they were and keep them under the new token), so every instance reads
afresh on its next request. The menu (menu.cache) and the kitchen's pacing
rules (orders.pacing.cache) are kept this way.

What is kept under a version must expire: a bump lost while the cache was
unreachable goes unseen, once it is back, for as long as the copy lives.
"""

from __future__ import annotations

import functools
import logging
import secrets

import redis
from django.core.cache import cache
from django.db import transaction
from django_redis.exceptions import ConnectionInterrupted

logger = logging.getLogger(__name__)

# What a cache that has gone away raises (django-redis re-raises redis-py's
# own errors unless told to ignore them; a refused socket can surface as OSError).
CACHE_ERRORS: tuple[type[BaseException], ...] = (redis.RedisError, ConnectionInterrupted, OSError)


def cache_version_key(name: str) -> str:
    return f"{name}:version"


def cache_version(name: str) -> str | None:
    """The version of `name` now, made on first use; None if the cache keeps nothing.

    Raises CACHE_ERRORS while the cache is unreachable: the caller reads the
    database instead.
    """
    key = cache_version_key(name)
    version = cache.get(key)
    if version is None:
        cache.add(key, secrets.token_hex(8), timeout=None)
        version = cache.get(key)
    return version if isinstance(version, str) else None


def cache_version_bump(name: str) -> None:
    """Makes every instance read `name` afresh on its next request."""
    try:
        cache.set(cache_version_key(name), secrets.token_hex(8), timeout=None)
    except CACHE_ERRORS:
        logger.warning("%s version not bumped: cache unreachable", name, exc_info=True)


def cache_version_bump_after_commit(name: str) -> None:
    """Bumps the version once the caller's transaction commits (at once outside one)."""
    transaction.on_commit(functools.partial(cache_version_bump, name), robust=True)
