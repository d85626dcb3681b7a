"""A refund owed when the process dies right after commit is still paid, once, by a real worker.

The web process commits a customer's cancel of a paid order and dies before
any after-commit callback runs: nothing reaches the queue. The refund was
reserved in that transaction, so the sweep (sent to a real Celery worker,
as beat sends it) finds it and Stripe pays it once. Stripe is the local fake
from test_stripe_adapter, so its refunds are counted at the network boundary.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

from orders.models import OrderStatus, Payment, PaymentStatus, Refund, RefundStatus
from tests.harness import worker as worker_harness
from tests.harness.worker import ROOT, purge_queues, queue_sizes, worker_env
from tests.orders import test_stripe_adapter
from tests.orders.test_refund_delivery import _paid_at_stripe

celery_worker = worker_harness.celery_worker
fake_stripe = test_stripe_adapter.fake_stripe

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.django_db(transaction=True)]

SWEEP = "orders.payment_tasks.refunds_sweep"
DELIVER = "orders.payment_tasks.deliver_refund"

# The customer's cancel, in a web process that dies the moment it commits:
# the first after-commit callback (registered before the service's own)
# ends the process, so neither the outbox relay nor the refund task is sent.
CANCEL_THEN_DIE = """
import os, sys
import django
django.setup()
from django.db import transaction
from accounts.roles import Actor
from orders.models import Order
from orders.payments.services import order_cancel_paid

order = Order.objects.get(pk=int(sys.argv[1]))
with transaction.atomic():
    transaction.on_commit(lambda: os._exit(3))
    order_cancel_paid(order=order, actor=Actor.guest())
print("the after-commit callbacks ran", flush=True)
"""


def test_a_refund_committed_by_a_process_that_died_before_enqueueing_is_paid_once(
    fake_stripe, small_menu, celery_worker
):
    # Given a paid order, and a web process that commits its cancel and dies
    order = _paid_at_stripe(small_menu)
    purge_queues()
    stripe_env = {"STRIPE_SECRET_KEY": "sk_test_brigade", "STRIPE_API_BASE": fake_stripe.url}
    crash = subprocess.run(
        [sys.executable, "-c", CANCEL_THEN_DIE, str(order.pk)],
        cwd=ROOT,
        env=worker_env(None, stripe_env),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert crash.returncode == 3, crash.stdout + crash.stderr
    order.refresh_from_db()
    refund = Refund.objects.get()
    assert order.status == OrderStatus.REFUNDED
    assert (refund.status, refund.attempts) == (RefundStatus.PENDING, 0)
    assert queue_sizes() == {"orders": 0, "notifications": 0, "webhooks": 0}, "nothing was enqueued"
    assert fake_stripe.refunds == []

    # When a real worker runs the sweep (as beat does), and then again, and
    # the refund's own task arrives late as well
    worker = celery_worker(env=stripe_env, purge=False)
    first = _send_by_name(SWEEP, older_than_seconds=0)
    assert worker.wait_for_task(SWEEP, first.id, timeout=30) == "1", worker.explain()
    second = _send_by_name(SWEEP, older_than_seconds=0)
    assert worker.wait_for_task(SWEEP, second.id, timeout=30) == "0", worker.explain()
    late = _send_by_name(DELIVER, refund.pk)
    assert worker.wait_for_task(DELIVER, late.id, timeout=30) == "'succeeded'", worker.explain()

    # Then Stripe paid the refund exactly once, with the refund's own key,
    # and Brigade's books say what Stripe paid
    asked = [r for r in fake_stripe.requests if r[:2] == ("POST", "/v1/refunds")]
    assert len(asked) == 1, worker.explain()
    assert asked[0][3]["Idempotency-Key"] == refund.idempotency_key
    assert [r["amount"] for r in fake_stripe.refunds] == [2800]
    refund.refresh_from_db()
    assert (refund.status, refund.provider_ref) == (RefundStatus.SUCCEEDED, "re_test_1")
    payment = Payment.objects.get()
    assert (payment.status, payment.refunded_minor, payment.refund_reserved_minor) == (
        PaymentStatus.REFUNDED,
        2800,
        0,
    )


def _send_by_name(name: str, *args: object, **kwargs: object):  # type: ignore[no-untyped-def]
    """Sends a task by its registered name to the real broker, as beat or a late message would."""
    from restaurant.celery import app

    return app.send_task(name, args=args, kwargs=kwargs)
