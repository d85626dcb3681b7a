"""Run callables at the same moment in threads, each with its own DB connection."""

from __future__ import annotations

import threading
from collections.abc import Callable

from django.db import connection


def run_simultaneously(*calls: Callable[[], object]) -> list[object]:
    """Starts every call together; returns each one's result or the exception it raised."""
    barrier = threading.Barrier(len(calls))
    outcomes: list[object] = [None] * len(calls)

    def run(index: int) -> None:
        try:
            barrier.wait(timeout=10)
            outcomes[index] = calls[index]()
        except Exception as error:  # noqa: BLE001 - the caller asserts on whatever happened
            outcomes[index] = error
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return outcomes
