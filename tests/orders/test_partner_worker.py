"""Partner webhooks through the real queue: a real worker retries with growing delays, then gives up.

test_partner_webhooks.py says what each try does (eagerly); these run
`celery -A restaurant worker` on the test database and Redis, so the retry
countdowns are real waits, and the partner is a real HTTP server on 127.0.0.1.
The worker is started with a 0.5 s retry base so the whole schedule fits in
seconds: waits of about 0.5, 1 and 2 s (±20 %).
"""

from __future__ import annotations

import json
import time
from itertools import pairwise

import pytest
from django.db import transaction

from accounts.roles import Actor
from orders.models import DeadLetter, Order, OrderStatus, Partner, PartnerDelivery, PartnerDeliveryStatus
from orders.partners.services import SIGNATURE_HEADER, partner_delivery_resend, verify
from orders.pricing import CartLine
from orders.services import OrderDetails, order_place, order_transition
from tests.harness import webhook_receiver as receiver_module
from tests.harness import worker as worker_harness
from tests.harness.worker import wait_until

celery_worker = worker_harness.celery_worker
webhook_receiver = receiver_module.webhook_receiver

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.redis,
    # Committed for real: the worker (another process) reads the rows.
    pytest.mark.django_db(transaction=True),
]

TILL = Actor.system("test-till")
DELIVER = "orders.tasks.deliver_partner_webhook"
BASE_SECONDS = 0.5
# Arrival times are taken in this process, the countdowns in the worker's.
CLOCK_SLACK = 0.05


def _placed(menu) -> Order:  # type: ignore[no-untyped-def]
    order, _ = order_place(
        lines=[CartLine(menu.fries.pk, 1)],
        details=OrderDetails(order_type="pickup", contact_name="Ada", contact_email="ada@example.test"),
        actor=Actor.guest(),
    )
    return order


def _delivery_status(status: str):  # type: ignore[no-untyped-def]
    return lambda: PartnerDelivery.objects.filter(status=status).first()


def test_a_partner_failing_three_times_gets_the_event_on_the_fourth_try_after_growing_waits(
    small_menu, webhook_receiver, celery_worker
):
    # Given a partner that fails three times, then takes the event
    webhook_receiver.answer(500, 500, 500, then=200)
    partner = Partner.objects.create(name="Rapid Riders", url=webhook_receiver.url, events=["order.paid"])
    worker = celery_worker(env={"PARTNER_WEBHOOK_RETRY_BASE_SECONDS": str(BASE_SECONDS)})

    def explain() -> str:
        return webhook_receiver.describe() + "\n" + worker.explain()

    # When an order is paid (committed; the relay hands the event to the broker)
    order_transition(order=_placed(small_menu), to_status=OrderStatus.PAID, actor=TILL)

    # Then the fourth try delivers it, and nothing comes after
    webhook_receiver.wait_for(4, timeout=30, explain=worker.explain)
    delivery = wait_until(
        _delivery_status(PartnerDeliveryStatus.DELIVERED), timeout=10, what="the delivery", explain=explain
    )
    time.sleep(1)  # a fifth try would arrive within this
    received = webhook_receiver.requests
    assert [r.answered for r in received] == [500, 500, 500, 200], explain()
    assert (delivery.attempts, delivery.last_status_code) == (4, 200)

    # And each wait was longer than the one before, and at least its backoff
    gaps = [later.at - earlier.at for earlier, later in pairwise(received)]
    assert gaps[1] > gaps[0] and gaps[2] > gaps[1], f"gaps {gaps}\n{explain()}"
    for retry, gap in enumerate(gaps):
        assert gap >= 0.8 * BASE_SECONDS * 2**retry - CLOCK_SLACK, f"gaps {gaps}\n{explain()}"

    # And every try was the same event, validly signed
    assert len({r.body for r in received}) == 1
    assert {r.header("Brigade-Event-Id") for r in received} == {str(delivery.public_id)}
    assert all(verify(partner.secret, r.header(SIGNATURE_HEADER), r.body) for r in received), explain()
    assert json.loads(received[-1].body)["type"] == "order.paid"
    assert not DeadLetter.objects.exists(), explain()


def test_an_always_failing_partner_is_dead_lettered_after_the_last_try_and_a_resend_delivers(
    small_menu, webhook_receiver, celery_worker
):
    # Given a partner that never takes anything, and three tries in all
    webhook_receiver.answer(then=503)
    Partner.objects.create(name="Rapid Riders", url=webhook_receiver.url, events=["order.paid"])
    worker = celery_worker(
        env={"PARTNER_WEBHOOK_RETRY_BASE_SECONDS": str(BASE_SECONDS), "PARTNER_WEBHOOK_MAX_ATTEMPTS": "3"}
    )

    def explain() -> str:
        return webhook_receiver.describe() + "\n" + worker.explain()

    # When an order is paid
    order_transition(order=_placed(small_menu), to_status=OrderStatus.PAID, actor=TILL)

    # Then after the third try it is dead-lettered and marked failed, and not tried again
    letter = wait_until(
        lambda: DeadLetter.objects.filter(task_name=DELIVER).first(),
        timeout=30,
        what="the dead letter",
        explain=explain,
    )
    delivery = wait_until(
        _delivery_status(PartnerDeliveryStatus.FAILED),
        timeout=10,
        what="the failed delivery",
        explain=explain,
    )
    time.sleep(2.5)  # a fourth try would come within this (the next wait would be about 2 s)
    assert [r.answered for r in webhook_receiver.requests] == [503, 503, 503], explain()
    assert (delivery.attempts, delivery.last_status_code, letter.attempts) == (3, 503, 3)
    assert letter.args[0] == delivery.pk

    # When the partner is back and the delivery is resent (admin's action)
    webhook_receiver.answer(then=200)
    assert partner_delivery_resend(delivery_ids=[delivery.pk]) == 1

    # Then the worker delivers it, once
    wait_until(
        _delivery_status(PartnerDeliveryStatus.DELIVERED),
        timeout=20,
        what="the resent delivery",
        explain=explain,
    )
    time.sleep(1)
    assert [r.answered for r in webhook_receiver.requests] == [503, 503, 503, 200], explain()
    letter.refresh_from_db()
    assert letter.retried_at is not None


def test_a_slow_partner_leaves_its_delivery_unlocked_while_it_answers_and_gets_the_event_once(
    small_menu, webhook_receiver, celery_worker
):
    # Given a partner that takes 3 s to answer (within the read timeout)
    webhook_receiver.answer_after(3.0)
    Partner.objects.create(name="Rapid Riders", url=webhook_receiver.url, events=["order.paid"])
    worker = celery_worker()

    def explain() -> str:
        return webhook_receiver.describe() + "\n" + worker.explain()

    # When an order is paid and the worker is posting its event
    order_transition(order=_placed(small_menu), to_status=OrderStatus.PAID, actor=TILL)
    wait_until(
        webhook_receiver.answering.is_set, timeout=20, what="the worker to be posting", explain=explain
    )

    # Then nobody holds the delivery's row meanwhile (a resend or the admin goes ahead at once)
    with transaction.atomic():
        assert PartnerDelivery.objects.select_for_update(nowait=True).exists(), explain()
    assert PartnerDelivery.objects.get().status == PartnerDeliveryStatus.PENDING

    # And the partner gets the event once, recorded as delivered
    delivery = wait_until(
        _delivery_status(PartnerDeliveryStatus.DELIVERED), timeout=20, what="the delivery", explain=explain
    )
    time.sleep(1)  # a second request would arrive within this
    assert len(webhook_receiver.requests) == 1, explain()
    assert (delivery.attempts, delivery.last_status_code, delivery.claimed_until) == (1, 200, None)
