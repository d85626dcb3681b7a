"""Run callables at the same moment in threads, each with its own DB connection."""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable

from django.db import connection


def run_simultaneously(*calls: Callable[[], object], workers: int | None = None) -> list[object]:
    """Starts every call together; returns each one's result or the exception it raised.

    With `workers`, that many threads (and database connections) start
    together and take the calls one after another as each finishes, for a
    crowd larger than the database's connection limit; without, one thread
    per call.
    """
    count = min(workers or len(calls), len(calls))
    barrier = threading.Barrier(count)
    outcomes: list[object] = [None] * len(calls)
    # next() on a shared counter is atomic under the GIL: each call is taken once.
    indexes = itertools.count()

    def run() -> None:
        try:
            barrier.wait(timeout=10)
            while (index := next(indexes)) < len(calls):
                try:
                    outcomes[index] = calls[index]()
                except Exception as error:  # noqa: BLE001 - the caller asserts on whatever happened
                    outcomes[index] = error
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return outcomes
