"""PostgreSQL restarted under load: 503 with Retry-After while it is away, never 500, no order lost.

The product runs on a throwaway PostgreSQL cluster of this test's own, under
real gunicorn, while customers browse and check out through the pages.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading

import psycopg
import pytest
import requests

from tests.harness import gunicorn as gunicorn_harness
from tests.harness import postgres_cluster as cluster_harness
from tests.harness.customers import Customer, Visits, customers_running
from tests.harness.processes import ROOT, wait_until

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

gunicorn_instance = gunicorn_harness.gunicorn_instance
postgres_cluster = cluster_harness.postgres_cluster

CUSTOMERS = 3
WAIT = 60.0
ITEM_SLUG = "restart-soup"

SEED = f"""
from menu.models import Category, MenuItem
soups = Category.objects.create(name="Soups", slug="soups")
MenuItem.objects.create(category=soups, name="Restart soup", slug="{ITEM_SLUG}", price_minor=650)
"""


def manage(database_url: str, *args: str) -> None:
    env = {**os.environ, "DATABASE_URL": database_url, "DJANGO_SETTINGS_MODULE": "restaurant.settings"}
    done = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_a_database_restart_under_load_answers_503_never_500_and_loses_no_order(
    postgres_cluster, gunicorn_instance
):
    # Given the product on a PostgreSQL cluster of this test's own, with a dish on the menu
    database_url = postgres_cluster.create_database("brigade")
    manage(database_url, "migrate", "--noinput", "-v0")
    manage(database_url, "shell", "-c", SEED)
    pages = gunicorn_instance(env={"DATABASE_URL": database_url})

    visits = Visits()

    def explain() -> str:
        return f"answers: {visits.statuses()}\nerrors: {visits.errors[-5:]}\n{pages.log()}"

    # And customers browsing and checking out
    stop = threading.Event()
    threads = customers_running(
        [Customer(pages.url, ITEM_SLUG, visits, pay=False) for _ in range(CUSTOMERS)], stop
    )
    try:
        wait_until(
            lambda: len(visits.accepted) >= CUSTOMERS, timeout=WAIT, what="orders before", explain=explain
        )

        # When the database restarts under them
        postgres_cluster.restart()

        # Then they carry on ordering once it is back
        placed = len(visits.accepted)
        wait_until(
            lambda: len(visits.accepted) >= placed + CUSTOMERS,
            timeout=WAIT,
            what="orders after",
            explain=explain,
        )
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=40)

    # Then nothing answered 500 (503 while the database was away, each with Retry-After)
    assert visits.server_errors(allowed=frozenset({503})) == [], explain()
    assert visits.errors == [], explain()
    assert all(answer.retry_after for answer in visits.with_status(503)), explain()

    # And every checkout that sent its customer to pay left its order and payment in the database
    with psycopg.connect(database_url) as conn:
        stored = {
            ref
            for (ref,) in conn.execute(
                "SELECT provider_ref FROM orders_payment WHERE provider_ref = ANY(%s)",
                [list(visits.accepted)],
            )
        }
    assert stored == set(visits.accepted)

    # When the database restarts again while nobody is asking
    postgres_cluster.restart()

    # Then the first request on every worker's stale persistent connection succeeds (it is checked first)
    answers = [requests.get(f"{pages.url}/menu/", timeout=30).status_code for _ in range(8)]
    assert answers == [200] * 8, pages.log()
