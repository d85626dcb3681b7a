"""The kitchen's pacing rules and opening hours, and its recent prep time, kept in the shared cache.

Every quote (the checkout page, the checkout itself) needs the rules and the
opening hours, which a manager changes a few times a year. They are kept
under the *pacing version* (restaurant.cache_versions, as the menu is):
every save or delete of either model bumps it after commit
(orders.pacing.signals; a writer that sends no signal calls
`pacing_changed()` itself), so the next quote on any instance reads them
afresh. The recent prep time is a statistic over the last finished orders;
it is kept for PACING_PREP_CACHE_SECONDS and is at most that old in a quote.
The live load (orders in the kitchen, orders in each slot) is never kept.

With the cache unreachable both are read from the database, and nothing is
raised.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.cache import cache

from orders.pacing.models import KitchenPacing, OpeningHours
from restaurant.cache_versions import (
    CACHE_ERRORS,
    cache_version,
    cache_version_bump_after_commit,
    cache_version_key,
)

logger = logging.getLogger(__name__)

PACING_VERSION = "pacing"
# The rows are kept as their fields' values, under a key named by those
# fields: a deploy that adds or renames one never reads a copy an older
# release stored.
_SCHEMA = hashlib.sha256(
    repr(
        [[f.attname for f in model._meta.concrete_fields] for model in (KitchenPacing, OpeningHours)]
    ).encode()
).hexdigest()[:8]
CONFIG_KEY = f"pacing:config:{_SCHEMA}"
PREP_KEY = "pacing:prep-minutes"


@dataclass(frozen=True)
class PacingConfig:
    """The location's pacing row (its defaults if never saved) and its opening hours."""

    rules: KitchenPacing
    hours: tuple[OpeningHours, ...]


def pacing_changed() -> None:
    """Call from every write to the pacing rules or opening hours; the bump follows the commit."""
    cache_version_bump_after_commit(PACING_VERSION)


def _values(row: KitchenPacing | OpeningHours) -> dict[str, Any]:
    return {f.attname: getattr(row, f.attname) for f in row._meta.concrete_fields}


def pacing_config_read() -> PacingConfig:
    """The rules and opening hours from the database (2 queries)."""
    rules = KitchenPacing.objects.filter(pk=1).first() or KitchenPacing(pk=1)
    return PacingConfig(rules=rules, hours=tuple(OpeningHours.objects.filter(pacing_id=1)))


def pacing_config() -> PacingConfig:
    """The rules and opening hours: the copy kept for the current pacing version, or read now.

    The copy is stored with the version it was read at, in one key, so one
    round trip asks for both; a copy of another version is read again.
    Read after its version was seen, a copy is never older than the change
    that version follows.
    """
    version_key = cache_version_key(PACING_VERSION)
    try:
        found = cache.get_many([version_key, CONFIG_KEY])
        version = found.get(version_key) or cache_version(PACING_VERSION)
    except CACHE_ERRORS:
        logger.warning("pacing cache unreachable: rules read from the database", exc_info=True)
        return pacing_config_read()
    kept = found.get(CONFIG_KEY)
    if version is not None and isinstance(kept, tuple) and len(kept) == 3 and kept[0] == version:
        _, rules, hours = kept
        return PacingConfig(
            rules=KitchenPacing(**rules), hours=tuple(OpeningHours(**values) for values in hours)
        )
    config = pacing_config_read()
    if version is not None and settings.PACING_CONFIG_CACHE_SECONDS:
        copy = (version, _values(config.rules), tuple(_values(row) for row in config.hours))
        try:
            cache.set(CONFIG_KEY, copy, timeout=settings.PACING_CONFIG_CACHE_SECONDS)
        except CACHE_ERRORS:
            logger.warning("pacing rules not kept: cache unreachable", exc_info=True)
    return config


def prep_minutes_kept(measure: Callable[[], int | None]) -> int | None:
    """The recent prep time as measured at most PACING_PREP_CACHE_SECONDS ago, or measured now.

    None (too few finished orders) is kept too, so a quiet kitchen is not
    measured again on every quote. When it runs out, each process that asks
    before one has stored it again measures it once: three small queries,
    not worth a lock.
    """
    seconds = settings.PACING_PREP_CACHE_SECONDS
    if seconds <= 0:
        return measure()
    try:
        kept = cache.get(PREP_KEY)
    except CACHE_ERRORS:
        logger.warning("pacing cache unreachable: prep time measured", exc_info=True)
        return measure()
    if isinstance(kept, tuple) and len(kept) == 1:
        return kept[0]
    measured = measure()
    try:
        cache.set(PREP_KEY, (measured,), timeout=seconds)
    except CACHE_ERRORS:
        logger.warning("prep time not kept: cache unreachable", exc_info=True)
    return measured
