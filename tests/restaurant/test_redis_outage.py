"""Redis killed under a lunch rush in the production set-up: no 5xx, every paid order reaches the kitchen.

Real gunicorn (pages), daphne (order pages and sockets), a Celery worker and
beat all share a throwaway redis-server (cache, sessions, channel layer,
broker). Customers keep ordering through the pages while it is killed and
started again, empty, on the same port.
"""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest
from websockets.sync.client import connect

from kitchen.models import Ticket
from orders.models import OrderStatus, OutboxEvent, Payment
from tests.harness import daphne as daphne_harness
from tests.harness import gunicorn as gunicorn_harness
from tests.harness import worker as worker_harness
from tests.harness.customers import Customer, Visits, customers_running
from tests.harness.processes import free_port, wait_until
from tests.harness.redis_server import start_redis
from tests.kitchen import conftest as kitchen_fixtures
from tests.requirements import has_redis_server_program, need

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

kitchen = kitchen_fixtures.kitchen
daphne_instance = daphne_harness.daphne_instance
gunicorn_instance = gunicorn_harness.gunicorn_instance
celery_worker = worker_harness.celery_worker

CUSTOMERS = 3
# Answers the customers must get while Redis is away: every step of a few rounds.
ANSWERS_DURING_OUTAGE = 30
WAIT = 60.0


def test_orders_placed_while_redis_is_killed_are_answered_paid_and_reach_the_board(
    kitchen, small_menu, gunicorn_instance, daphne_instance, celery_worker, processes, tmp_path: Path
):
    need(has_redis_server_program(), "needs the redis-server program")
    # Given the production set-up on a Redis of this test's own
    redis_port = free_port()
    redis_dir = tmp_path / "redis"
    redis_dir.mkdir()
    own_redis = start_redis(redis_port, redis_dir, processes)
    redis_url = f"redis://127.0.0.1:{redis_port}/0"
    # The sweep looks every 2 s, so what the outage left behind is published within the test's bounds.
    env = {"REDIS_URL": redis_url, "CELERY_BROKER_URL": redis_url, "OUTBOX_SWEEP_SECONDS": "2"}
    celery_worker(env=env, purge=False)
    worker_harness.celery_beat(processes, tmp_path, env)
    pages = gunicorn_instance(env=env)
    live = daphne_instance(env=env)

    def explain() -> str:
        return f"answers: {visits.statuses()}\nerrors: {visits.errors[-5:]}\n{pages.log()}"

    # And customers ordering through the pages
    visits = Visits()
    stop = threading.Event()
    customers = [
        Customer(pages.url, small_menu.fries.slug, visits, pay=True, order_url=live.url)
        for _ in range(CUSTOMERS)
    ]
    threads = customers_running(customers, stop)
    try:
        wait_until(lambda: len(visits.paid) >= CUSTOMERS, timeout=WAIT, what="orders before", explain=explain)

        # When Redis is killed while they order
        own_redis.kill()
        before = len(visits.answers)
        paid_before = len(visits.paid)
        wait_until(
            lambda: len(visits.answers) - before >= ANSWERS_DURING_OUTAGE and len(visits.paid) > paid_before,
            timeout=WAIT,
            what="customers ordering while Redis is away",
            explain=explain,
        )

        # And comes back, empty, on the same port
        start_redis(redis_port, redis_dir, processes)
        paid_during = len(visits.paid)
        wait_until(
            lambda: len(visits.paid) >= paid_during + CUSTOMERS,
            timeout=WAIT,
            what="orders after",
            explain=explain,
        )
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=40)

    # Then no page answered 5xx, and every checkout was paid
    assert visits.server_errors() == [], explain()
    assert visits.errors == [], explain()
    assert set(visits.accepted) == visits.paid, explain()

    # And every paid order is paid in the database and on the board, its events all published
    def all_on_the_board() -> bool:
        payments = Payment.objects.filter(provider_ref__in=visits.paid)
        order_ids = set(payments.values_list("order_id", flat=True))
        return (
            len(order_ids) == len(visits.paid)
            and not payments.exclude(order__status=OrderStatus.PAID).exists()
            and set(Ticket.objects.filter(order_id__in=order_ids).values_list("order_id", flat=True))
            == order_ids
            and not OutboxEvent.objects.filter(order_id__in=order_ids, published_at__isnull=True).exists()
        )

    def explain_orders() -> str:
        payments = Payment.objects.filter(provider_ref__in=visits.paid)
        return (
            f"{len(visits.paid)} paid; orders by status: "
            f"{sorted(payments.values_list('order__status', flat=True))}; "
            f"tickets for {Ticket.objects.filter(order__payments__in=payments).count()}; "
            f"unpublished: {OutboxEvent.objects.filter(published_at__isnull=True).count()}"
        )

    wait_until(all_on_the_board, timeout=WAIT, what="every paid order on the board", explain=explain_orders)

    # And a live order page heals: its socket on daphne opens on the restarted Redis and shows the order
    tracking = next(token for token in visits.accepted.values() if token)
    with connect(f"{live.ws_url}/ws/orders/{tracking}/", origin=live.url, open_timeout=10) as socket:
        snapshot = json.loads(socket.recv(timeout=15))
    assert snapshot["type"] == "order.snapshot", snapshot
    assert snapshot["order"]["status"] == OrderStatus.PAID
