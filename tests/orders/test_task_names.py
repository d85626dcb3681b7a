"""Task names are contracts: the beat schedule, queued messages and dead letters hold them.

A task's name must not follow its code when the code moves, and every name
that something persisted must still find its task, in a worker and in a web
process (the admin retries a dead letter by its name).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings

from orders.outbox.dead_letters import DeadLetteringTask
from restaurant.celery import app

ROOT = Path(__file__).resolve().parents[2]

# Every Brigade task and the queue it is routed to. A name here only ever
# changes together with something that still understands the old one.
PINNED = {
    "orders.tasks.send_order_confirmation": "notifications",
    "orders.tasks.send_order_cancellation": "notifications",
    "orders.tasks.send_order_ready": "notifications",
    "orders.tasks.send_refund_email": "notifications",
    "orders.tasks.outbox_publish_task": "orders",
    "orders.tasks.outbox_sweep": "orders",
    "orders.tasks.idempotency_keys_purge": "orders",
    "orders.tasks.deliver_partner_webhook": "webhooks",
    "orders.payment_tasks.deliver_refund": "orders",
    "orders.payment_tasks.refunds_sweep": "orders",
    "orders.payment_tasks.refund_late_payment": "orders",
    "orders.payment_tasks.orders_expire_unpaid": "orders",
    "kitchen.tasks.release_scheduled_orders": "orders",
    "kitchen.tasks.board_sold_out_check": "orders",
    "orders.inventory_tasks.inventory_nightly": "orders",
    "orders.inventory_tasks.send_inventory_report": "notifications",
}

# What a process that only set Django up (a web process, the admin) has registered.
REGISTERED_IN_A_WEB_PROCESS = """
import json
import django
django.setup()
from restaurant.celery import app
print(json.dumps(sorted(name for name in app.tasks if not name.startswith("celery."))))
"""


def _brigade_tasks() -> dict[str, object]:
    app.loader.import_default_modules()
    return {name: task for name, task in app.tasks.items() if not name.startswith("celery.")}


def test_every_brigade_task_keeps_its_pinned_name():
    # Given every task the worker registers
    # Then they are exactly the pinned ones: a moved task without an explicit name would show up renamed
    assert sorted(_brigade_tasks()) == sorted(PINNED)


def test_every_scheduled_task_resolves():
    tasks = _brigade_tasks()
    for entry, schedule in settings.CELERY_BEAT_SCHEDULE.items():
        assert schedule["task"] in tasks, f"beat entry {entry!r} names no task"


def test_every_task_a_dead_letter_can_hold_resolves_in_a_web_process():
    # Given the names a dead letter can hold: every task with the dead-lettering base
    dead_lettering = {name for name, task in _brigade_tasks().items() if isinstance(task, DeadLetteringTask)}
    assert "orders.tasks.deliver_partner_webhook" in dead_lettering
    assert "orders.payment_tasks.deliver_refund" in dead_lettering

    # When a process sets Django up without Celery's autodiscovery (the admin's retry runs there)
    shown = subprocess.run(
        [sys.executable, "-c", REGISTERED_IN_A_WEB_PROCESS],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    registered = set(json.loads(shown.stdout.strip().splitlines()[-1]))

    # Then each of those names finds its task there
    assert dead_lettering - registered == set()


@pytest.mark.parametrize(("name", "queue"), sorted(PINNED.items()))
def test_every_task_is_routed_to_its_queue(name, queue):
    route = app.amqp.router.route({}, name)
    assert route["queue"].name == queue
