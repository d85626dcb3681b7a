"""A slow mail relay never holds up the kitchen: no order row stays locked while its email is sent."""

from __future__ import annotations

import time

import pytest
from django.db import transaction

from kitchen.models import Ticket
from orders.models import Order
from tests.harness import smtp as smtp_harness
from tests.harness import worker as worker_harness
from tests.harness.processes import wait_until
from tests.kitchen.conftest import pay, place

smtp_sink = smtp_harness.smtp_sink
celery_worker = worker_harness.celery_worker

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.django_db(transaction=True)]

RELAY_SECONDS = 5.0


def test_a_relay_that_takes_5_s_leaves_the_tickets_on_the_board_within_1_s_and_mails_once(
    kitchen, small_menu, smtp_sink, celery_worker
):
    # Given a mail relay that takes 5 s to accept a message, and a real worker sending through it
    smtp_sink.answer_after(RELAY_SECONDS)
    worker = celery_worker(smtp_sink)

    def explain() -> str:
        return smtp_sink.describe() + "\n" + worker.explain()

    order = place(small_menu)

    # When the order is paid
    paid_at = time.monotonic()
    pay(order)

    # Then its tickets are on the board within 1 s
    wait_until(
        lambda: Ticket.objects.filter(order=order).exists(), timeout=1.0, what="the tickets", explain=explain
    )
    assert time.monotonic() - paid_at < 1.0, explain()

    # And while the relay takes its time, nobody holds the order's row: a bump
    # or a refund at that moment goes ahead at once
    wait_until(smtp_sink.answering.is_set, timeout=20, what="the worker to be sending", explain=explain)
    with transaction.atomic():
        assert Order.objects.select_for_update(nowait=True).filter(pk=order.pk).exists()
    assert not smtp_sink.messages, "the relay was still answering\n" + explain()

    # And the email goes out once
    wait_until(lambda: smtp_sink.messages, timeout=RELAY_SECONDS + 15, what="the email", explain=explain)
    time.sleep(2)  # a duplicate would arrive within this
    assert len(smtp_sink.messages) == 1, explain()
    order.refresh_from_db()
    assert order.confirmation_sent_at is not None
    assert order.confirmation_claimed_until is None
