"""The order queue with a real Celery worker: crashes redeliver, the outbox sweeps, one email goes out.

The eager versions in test_outbox.py say what each task does; these say what
the broker, the worker and the relay do together. Each test starts
`celery -A restaurant worker` (prefork, one child) on the test database and
Redis, and reads the emails it sends from an SMTP receiver on 127.0.0.1.
"""

from __future__ import annotations

import inspect
import os
import re
import signal
import subprocess
import sys
import time

import pytest

from accounts.roles import Actor
from orders.models import DeadLetter, Order, OrderStatus, OutboxEvent
from orders.outbox import services as outbox
from orders.pricing import CartLine
from orders.services import OrderDetails, order_place, order_transition
from tests.harness import smtp as smtp_harness
from tests.harness import worker as worker_harness
from tests.harness.worker import (
    ROOT,
    WORKER_VISIBILITY_TIMEOUT,
    purge_queues,
    queue_sizes,
    wait_until,
    worker_env,
)

# The harness's fixtures, for these tests.
smtp_sink = smtp_harness.smtp_sink
celery_worker = worker_harness.celery_worker

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.redis,
    # Committed for real, so the worker (another process) sees the rows and
    # the after-commit relay runs as it does in production.
    pytest.mark.django_db(transaction=True),
]

TILL = Actor.system("test-till")
SEND = "orders.tasks.send_order_confirmation"
RECEIVED_SEND = rf"Task {re.escape(SEND)}\[([0-9a-f-]+)\] received"


def _placed(menu) -> Order:  # type: ignore[no-untyped-def]
    order, _ = order_place(
        lines=[CartLine(menu.burger.pk, 2, (menu.medium.pk, menu.bacon.pk))],
        details=OrderDetails(order_type="pickup", contact_name="Ada", contact_email="ada@example.test"),
        actor=Actor.guest(),
    )
    return order


def test_paying_an_order_sends_one_confirmation_email(small_menu, smtp_sink, celery_worker):
    worker = celery_worker(smtp_sink)
    order = _placed(small_menu)

    # Autocommit (transaction=True): the payment commits as the service
    # returns, and its after-commit relay enqueues the outbox event on Redis.
    order_transition(order=order, to_status=OrderStatus.PAID, actor=TILL)

    wait_until(
        lambda: len(smtp_sink.messages) >= 1,
        timeout=20,
        what="the confirmation email",
        explain=lambda: smtp_sink.describe() + "\n" + worker.explain(),
    )
    time.sleep(2)  # anything sent twice would arrive within this
    mails = smtp_sink.messages
    assert len(mails) == 1, smtp_sink.describe() + "\n" + worker.explain()
    assert mails[0].rcpt_tos == ("ada@example.test",)
    assert f"order {order.number}" in mails[0].message["Subject"]
    order.refresh_from_db()
    assert order.confirmation_sent_at is not None
    event = OutboxEvent.objects.get(order=order, topic="order.paid")
    assert (event.published_at is not None, event.attempts) == (True, 1)


def test_a_worker_killed_mid_send_redelivers_and_the_email_goes_once(small_menu, smtp_sink, celery_worker):
    # The receiver holds the first DATA without answering, so the worker's
    # child is stuck inside send_order_confirmation: the order row locked,
    # the mail handed over but not accepted. Later connections are not held.
    smtp_sink.hold_next(1)
    worker = celery_worker(smtp_sink)

    def explain() -> str:
        return smtp_sink.describe() + "\n" + worker.explain()

    order = _placed(small_menu)
    order_transition(order=order, to_status=OrderStatus.PAID, actor=TILL)

    wait_until(smtp_sink.held.is_set, timeout=20, what="the worker to be sending the email", explain=explain)
    children = worker.pool_pids()
    assert len(children) == 1, explain()
    child = children[0]
    os.kill(child, signal.SIGKILL)
    killed_at = time.monotonic()

    # The dead child's SMTP connection dropped before the receiver answered,
    # so that mail was never accepted (as a real relay would not accept it).
    wait_until(
        lambda: smtp_sink.abandoned == 1, timeout=10, what="the held connection to drop", explain=explain
    )

    # Who redelivers: the worker's main process sees its pool child die and
    # fails the job with WorkerLostError; with acks_late the message was never
    # acknowledged, and reject_on_worker_lost makes it reject(requeue=True),
    # which kombu's Redis transport turns into putting the message straight
    # back on its queue. The visibility timeout (10 s here) is only the
    # fallback for a worker lost whole, main process and all; this test
    # fails if the redelivery had to wait for it.
    received = worker.wait_for_log(RECEIVED_SEND, count=2, timeout=WORKER_VISIBILITY_TIMEOUT + 20)
    redelivered_after = time.monotonic() - killed_at
    assert received[0].group(1) == received[1].group(1), "the same message came back\n" + explain()
    assert worker.find(r"WorkerLostError"), explain()
    assert redelivered_after < WORKER_VISIBILITY_TIMEOUT, explain()

    wait_until(lambda: smtp_sink.messages, timeout=20, what="the redelivered email", explain=explain)
    time.sleep(2)  # a duplicate would arrive within this
    assert len(smtp_sink.messages) == 1, explain()
    assert smtp_sink.messages[0].rcpt_tos == ("ada@example.test",)
    order.refresh_from_db()
    assert order.confirmation_sent_at is not None
    assert worker.pool_pids() != [child], "the pool replaced its dead child\n" + explain()
    assert not DeadLetter.objects.exists(), "a redelivered task is not a failure"


# The web process paying the order, killed between COMMIT and the relay: the
# first after-commit callback (registered before the payment's own) kills the
# process, so the payment and its outbox event are committed and nothing is
# ever enqueued.
CRASHING_TILL = """
import os, signal, sys
import django
django.setup()
from django.db import transaction
from accounts.roles import Actor
from orders.outbox import services as outbox
from orders.models import Order, OrderStatus
from orders.services import order_transition

order = Order.objects.get(pk=int(sys.argv[1]))
with transaction.atomic():
    transaction.on_commit(lambda: os.kill(os.getpid(), signal.SIGKILL))
    order_transition(order=order, to_status=OrderStatus.PAID, actor=Actor.system("crashing-till"))
print("the relay ran", flush=True)
"""


def test_a_payment_whose_publisher_died_is_published_by_the_sweep_once(small_menu, smtp_sink, celery_worker):
    from orders.outbox.tasks import outbox_sweep

    order = _placed(small_menu)
    purge_queues()

    crash = subprocess.run(
        [sys.executable, "-c", CRASHING_TILL, str(order.pk)],
        cwd=ROOT,
        env=worker_env(None),
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert crash.returncode == -signal.SIGKILL, crash.stdout + crash.stderr
    order.refresh_from_db()
    event = OutboxEvent.objects.get(order=order, topic="order.paid")
    assert order.status == OrderStatus.PAID
    assert (event.published_at, event.attempts) == (None, 0)
    assert queue_sizes() == {"orders": 0, "notifications": 0, "webhooks": 0}, "nothing was enqueued"

    worker = celery_worker(smtp_sink, purge=False)  # just checked empty: nothing to hide

    def explain() -> str:
        return smtp_sink.describe() + "\n" + worker.explain()

    # The sweep leaves events younger than 10 s to their relay. Wait that out
    # for real rather than backdating the event, then do what beat does every
    # 30 s (a beat process would only add that wait): send outbox_sweep to the
    # real broker for the real worker.
    relay_grace = inspect.signature(outbox.outbox_sweep).parameters["older_than_seconds"].default
    # The newest of the three counts: on a loaded machine they can be apart by more than a margin.
    newest = max(OutboxEvent.objects.filter(published_at__isnull=True).values_list("created_at", flat=True))
    remaining = newest.timestamp() + relay_grace + 0.5 - time.time()
    time.sleep(max(0.0, remaining))
    first = outbox_sweep.delay()
    # "order paid", the floor's news of it, and the board's news of the tickets made with it.
    assert worker.wait_for_task("orders.tasks.outbox_sweep", first.id) == "3", explain()
    wait_until(lambda: smtp_sink.messages, timeout=20, what="the swept event's email", explain=explain)

    second = outbox_sweep.delay()
    assert worker.wait_for_task("orders.tasks.outbox_sweep", second.id) == "0", explain()

    assert len(smtp_sink.messages) == 1, explain()
    assert len(worker.find(RECEIVED_SEND)) == 1, explain()
    event.refresh_from_db()
    assert event.published_at is not None
    assert event.attempts == 1
    order.refresh_from_db()
    assert order.confirmation_sent_at is not None
