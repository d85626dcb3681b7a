"""Sessions kept in the database and cached in Redis, that carry on while Redis is away.

Django's cached_db store reads the cache first and writes it after the
database, but lets some cache failures through: a new visitor's key is checked
against the cache, a session read from the database is written back to it, a
sign-out deletes from it. With Redis down each of those would answer 500. Here
every cache call is caught, and the database, which holds every session
anyway, answers alone.

What the cache missed must not come back afterwards. A session changed or
ended while Redis was away still has its old copy there when Redis returns
(after a network cut, or a restart from its dump file), and cached_db reads
that copy first: an emptied cart would refill, a sign-out would be undone. So
each process remembers the keys whose cache copy it could not update and
deletes them from the cache before it reads the cache again. A process that
served nobody during the outage can still read an old copy in the moment
before the ones that did delete it; README "When Redis or PostgreSQL goes
away" says so.

While a cache call has just failed, the cache is left alone for a moment
(RETRY_AFTER_SECONDS): a Redis that times out rather than refusing would
otherwise cost every request the socket timeout, several times over.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import TYPE_CHECKING, Any

from asgiref.sync import sync_to_async
from django.contrib.sessions.backends.base import UpdateError
from django.contrib.sessions.backends.cached_db import KEY_PREFIX
from django.contrib.sessions.backends.cached_db import SessionStore as CachedDBStore
from django.db import router

if TYPE_CHECKING:
    from django.contrib.sessions.models import Session
    from django.core.cache.backends.base import BaseCache

logger = logging.getLogger(__name__)

RETRY_AFTER_SECONDS = 1.0
# Past this many missed keys, the process forgets them and deletes every
# cached session instead when the cache is back.
MAX_MISSED_KEYS = 10_000


class _CacheHealth:
    """What this process knows about its session cache: when it last failed, and which copies it missed."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._failed_at = float("-inf")
        self._missed: set[str] = set()
        self._missed_too_many = False

    def resting(self) -> bool:
        return time.monotonic() - self._failed_at < RETRY_AFTER_SECONDS

    def failed(self) -> None:
        self._failed_at = time.monotonic()

    def missed(self, *cache_keys: str, everything: bool = False) -> None:
        with self._lock:
            self._missed.update(cache_keys)
            self._missed_too_many = self._missed_too_many or everything
            if len(self._missed) > MAX_MISSED_KEYS:
                self._missed.clear()
                self._missed_too_many = True

    def anything_missed(self) -> bool:
        return bool(self._missed) or self._missed_too_many

    def take_missed(self) -> tuple[list[str], bool]:
        with self._lock:
            keys, everything = list(self._missed), self._missed_too_many
            self._missed.clear()
            self._missed_too_many = False
            return keys, everything


_health = _CacheHealth()


class SessionStore(CachedDBStore):
    """cached_db whose cache may be away: the database answers, and stale copies are deleted on return."""

    if TYPE_CHECKING:  # set or defined by Django's stores, unknown to django-stubs
        _cache: BaseCache
        _session: dict[str, Any]

        def _get_session_from_db(self) -> Session | None: ...

        def _get_session(self, no_load: bool = False) -> dict[str, Any]: ...

    def _cache_usable(self) -> bool:
        """False while the cache is resting after a failure, or while it still holds copies we missed."""
        if _health.resting():
            return False
        if not _health.anything_missed():
            return True
        keys, everything = _health.take_missed()
        try:
            # django-redis deletes by pattern; no other cache is shared and can fail
            # (clear() would flush the whole Redis database, queues included).
            delete_pattern = getattr(self._cache, "delete_pattern", None)
            if everything and delete_pattern is not None:
                delete_pattern(f"{KEY_PREFIX}*")
            self._cache.delete_many(keys)
        except Exception:  # noqa: BLE001 - still away: keep the keys for the next try
            _health.missed(*keys, everything=everything)
            _health.failed()
            return False
        logger.info("session cache back; deleted the copies it missed", extra={"sessions": len(keys)})
        return True

    def _cache_failed(self, action: str, missed_key: str | None) -> None:
        logger.warning("session cache unavailable; using the database", extra={"action": action})
        if missed_key is not None:
            _health.missed(missed_key)
        _health.failed()

    def _cache_write(self, cache_key: str, data: Any, timeout: int) -> None:
        if not self._cache_usable():
            _health.missed(cache_key)
            return
        try:
            self._cache.set(cache_key, data, timeout)
        except Exception:  # noqa: BLE001 - the database has the session; the cache is only a copy
            self._cache_failed("write", cache_key)

    def load(self) -> dict[str, Any]:
        data = None
        if self._cache_usable():
            try:
                data = self._cache.get(self.cache_key)
            except Exception:  # noqa: BLE001 - read it from the database instead
                self._cache_failed("read", None)
        if data is not None:
            return data
        stored = self._get_session_from_db()
        if not stored:
            return {}
        data = self.decode(stored.session_data)
        self._cache_write(self.cache_key, data, self.get_expiry_age(expiry=stored.expire_date))
        return data

    def exists(self, session_key: str | None) -> bool:
        if not session_key:
            return False
        if self._cache_usable():
            try:
                if (self.cache_key_prefix + session_key) in self._cache:
                    return True
            except Exception:  # noqa: BLE001 - the database knows every session
                self._cache_failed("exists", None)
        return bool(super(CachedDBStore, self).exists(session_key))

    def save(self, must_create: bool = False) -> None:
        if must_create or self.session_key is None:
            super(CachedDBStore, self).save(must_create)
        else:
            self._update_row()
        self._cache_write(self.cache_key, self._session, self.get_expiry_age())

    def _update_row(self) -> None:
        # Django's store saves a change as a forced update inside a transaction,
        # so that the update's failure can be undone: BEGIN, UPDATE, COMMIT on
        # every cart change of a rush. One UPDATE that may match no row needs
        # no undoing, and its single statement is atomic by itself.
        row = self.create_model_instance(self._get_session())
        using = router.db_for_write(self.model, instance=row)
        updated = (
            self.model.objects.using(using)
            .filter(session_key=row.session_key)
            .update(session_data=row.session_data, expire_date=row.expire_date)
        )
        if not updated:
            # Deleted meanwhile (signed out in another tab): what Django's store says then.
            raise UpdateError

    def delete(self, session_key: str | None = None) -> None:
        super(CachedDBStore, self).delete(session_key)
        if session_key is None:
            if self.session_key is None:
                return
            session_key = self.session_key
        cache_key = self.cache_key_prefix + session_key
        if not self._cache_usable():
            _health.missed(cache_key)
            return
        try:
            self._cache.delete(cache_key)
        except Exception:  # noqa: BLE001 - the row is gone; the copy is deleted when the cache is back
            self._cache_failed("delete", cache_key)

    # Django's async twins call the cache unguarded; these run the guarded ones in a thread.
    async def aload(self) -> dict[str, Any]:
        return await sync_to_async(self.load)()

    async def aexists(self, session_key: str | None) -> bool:
        return await sync_to_async(self.exists)(session_key)

    async def asave(self, must_create: bool = False) -> None:
        await sync_to_async(self.save)(must_create)

    async def adelete(self, session_key: str | None = None) -> None:
        await sync_to_async(self.delete)(session_key)
