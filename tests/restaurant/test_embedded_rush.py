"""`make run`'s set-up holds a rush: daphne on SQLite, no Redis, 10 customers ordering at once.

SQLite runs in WAL mode with a busy timeout and IMMEDIATE transactions
(restaurant/settings.py), so customers wait their turn for the write lock
instead of being told "database is locked".
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path

from tests.harness.customers import Customer, Visits, customers_running
from tests.harness.daphne import answers_healthz, daphne_command
from tests.harness.processes import ROOT, Processes, free_port, wait_until

CUSTOMERS = 10
ROUNDS = 2
WAIT = 90.0
ITEM_SLUG = "soup-of-the-day"  # seed_demo's dish without choices


def test_ten_customers_at_once_on_the_embedded_default_never_meet_a_locked_database(
    tmp_path: Path, processes: Processes
):
    # Given the product as `make run` serves it: SQLite, no Redis, Celery eager, one daphne
    env = {
        name: value
        for name, value in os.environ.items()
        if name not in {"DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL", "DJANGO_ENV", "SENTRY_DSN"}
    }
    port = free_port()
    var = tmp_path / "var"
    env.update(
        DJANGO_SETTINGS_MODULE="restaurant.settings",
        BRIGADE_VAR_DIR=str(var),
        BRIGADE_BASE_URL=f"http://127.0.0.1:{port}",
        PYTHONUNBUFFERED="1",
    )
    for command in (["migrate", "--noinput", "-v0"], ["seed_demo"], ["seed_demo_stations"]):
        done = subprocess.run(
            [sys.executable, "manage.py", *command],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        assert done.returncode == 0, done.stdout + done.stderr
    server = processes.start(daphne_command(port), name="daphne (embedded)", env=env)
    base = f"http://127.0.0.1:{port}"
    server.wait_ready(lambda: answers_healthz(base), timeout=30)

    # When 10 customers order and pay through the pages at once
    visits = Visits()
    stop = threading.Event()
    threads = customers_running([Customer(base, ITEM_SLUG, visits, pay=True) for _ in range(CUSTOMERS)], stop)

    def explain() -> str:
        return f"answers: {visits.statuses()}\nerrors: {visits.errors[-5:]}\n{server.explain()}"

    try:
        wait_until(
            lambda: len(visits.paid) >= CUSTOMERS * ROUNDS, timeout=WAIT, what="orders", explain=explain
        )
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=60)

    # Then every answer was a page, none an error, and the database was never "locked"
    assert visits.server_errors() == [], explain()
    assert visits.errors == [], explain()
    assert all(answer.status < 400 for answer in visits.answers), explain()
    assert "database is locked" not in server.log(), explain()

    # And the database file is in WAL mode, every order paid
    database = sqlite3.connect(var / "db.sqlite3", timeout=30)
    try:
        assert database.execute("PRAGMA journal_mode").fetchone() == ("wal",)

        def unpaid() -> list[tuple[str, str]]:
            rows = database.execute(
                "SELECT p.provider_ref, o.status FROM orders_payment p"
                " JOIN orders_order o ON o.id = p.order_id"
            ).fetchall()
            statuses = dict(rows)
            return [(ref, statuses.get(ref, "missing")) for ref in visits.paid if statuses.get(ref) != "paid"]

        wait_until(lambda: not unpaid(), timeout=WAIT, what="every order paid", explain=lambda: str(unpaid()))
    finally:
        database.close()
