"""Telling the apps above menu that what the menu shows changed, once that change has committed.

menu must not import the apps that show what it sells (the kitchen board's
86 list), so they register a listener here from their AppConfig.ready, as
orders fills menu.pages' page parts. `menu_changed()` (menu.cache) is the
one door: every write that changes what the menu shows, or what the pantry
can make of it, already calls it.

A listener is told "something changed", never what: it reads what it shows
again and decides whether that differs from what it last said (the kitchen
compares its 86 list), so a change that alters nothing it shows costs it a
read and sends nothing.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from django.db import transaction

logger = logging.getLogger(__name__)

_listeners: list[Callable[[], None]] = []


def menu_listen(listener: Callable[[], None]) -> None:
    """Adds a listener, called after every transaction that changed the menu has committed."""
    if listener not in _listeners:
        _listeners.append(listener)


class _Pending(threading.local):
    """Whether this thread has a change its listeners have not been told about.

    An admin save with inlines calls menu_changed() once per row; the
    listeners are told once. Every call registers its own after-commit
    callback and the first that runs tells them (a callback is dropped with
    a savepoint that rolls back, so relying on the first call's alone could
    tell nobody).
    """

    def __init__(self) -> None:
        self.waiting = False


_pending = _Pending()


def menu_listeners_after_commit() -> None:
    """Tells the listeners once the caller's transaction commits (at once outside one)."""
    _pending.waiting = True
    transaction.on_commit(_tell_pending, robust=True)


def _tell_pending() -> None:
    if not _pending.waiting:
        return
    _pending.waiting = False
    for listener in _listeners:
        try:
            listener()
        except Exception:
            # The menu change is committed; a listener that fails must not fail the request that made it.
            logger.exception(
                "menu listener failed", extra={"listener": getattr(listener, "__qualname__", "")}
            )
