"""The nightly inventory with a real beat and real workers: one report and one email per night.

Beat runs with INVENTORY_NIGHTLY_EVERY_SECONDS=1, so the nightly entry fires
every second instead of at 02:00 (the production entry is tested in
test_inventory.py), and every run after the first finds the nights built.
"""

from __future__ import annotations

import ast
import os
import re
import signal
import time
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from menu.models import MovementKind, StockMovement
from orders.coupons.models import Coupon
from orders.models import DeadLetter, InventoryReport
from tests.harness import smtp as smtp_harness
from tests.harness import worker as worker_harness
from tests.harness.worker import wait_until
from tests.orders.inventory_flows import a_busy_night, after, all_a_day_earlier, tonight

smtp_sink = smtp_harness.smtp_sink
celery_worker = worker_harness.celery_worker

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.django_db(transaction=True)]

NIGHTLY_RAN = r"Task orders\.inventory_tasks\.inventory_nightly\[[^\]]+\] succeeded in [\d.]+s: (\[.*\])"
EVERY_SECOND = {"INVENTORY_NIGHTLY_EVERY_SECONDS": "1"}


def inventory_mails(sink: smtp_harness.SmtpSink) -> list[smtp_harness.ReceivedMail]:
    # Paying the night's order queued its confirmation too; only the reports count here.
    return [m for m in sink.messages if "inventory for" in str(m.message["Subject"])]


def test_a_real_worker_and_two_beats_make_one_report_and_one_email_per_night(
    small_menu, pantry, actors, smtp_sink, celery_worker, processes, tmp_path
):
    # Given reports up to three nights ago, and last night's service: a cancelled order still
    # holding stock, a coupon that ran out
    yesterday = tonight() - timedelta(days=1)
    InventoryReport.objects.create(
        night=yesterday - timedelta(days=2), built_at=after(yesterday), email_sent_at=timezone.now()
    )
    night = a_busy_night(small_menu, pantry)
    all_a_day_earlier()

    # When two workers run and two beats (one by mistake) send the nightly job every second
    workers = [celery_worker(smtp_sink), celery_worker(smtp_sink, purge=False)]
    for name in ("one", "two"):
        (tmp_path / name).mkdir()
        worker_harness.celery_beat(processes, tmp_path / name, EVERY_SECOND)

    def runs() -> list[list[str]]:
        return [ast.literal_eval(m.group(1)) for w in workers for m in w.find(NIGHTLY_RAN)]

    def explain() -> str:
        return f"runs: {runs()}\n{smtp_sink.describe()}\n" + "\n".join(w.explain() for w in workers)

    wait_until(
        lambda: len(inventory_mails(smtp_sink)) >= 2, timeout=60, what="two reports mailed", explain=explain
    )
    # And they go on running it for a while after
    done = len(runs())
    wait_until(lambda: len(runs()) >= done + 6, timeout=60, what="six more runs", explain=explain)

    # Then the two missed nights were built once each, across every run of both workers
    built = sorted(day for run in runs() for day in run)
    assert built == [(yesterday - timedelta(days=1)).isoformat(), yesterday.isoformat()], explain()
    assert list(InventoryReport.objects.order_by("night").values_list("night", flat=True)) == [
        yesterday - timedelta(days=n) for n in (2, 1, 0)
    ]
    # And each was mailed once, to the manager
    mails = inventory_mails(smtp_sink)
    assert len(mails) == 2, explain()
    assert all(m.rcpt_tos == (actors.manager.email,) for m in mails)
    assert not InventoryReport.objects.filter(email_sent_at__isnull=True).exists()
    # And what the job changes changed once: last night's report released the hold and retired the
    # coupon that ran out last night
    report = InventoryReport.objects.get(night=yesterday)
    assert [order["order_id"] for order in report.released] == [night.left_holding.pk]
    assert (
        StockMovement.objects.filter(order_id=night.left_holding.pk, kind=MovementKind.RELEASE).count() == 1
    )
    assert [coupon["code"] for coupon in report.retired_coupons] == ["SUMMER"]
    assert not Coupon.objects.get(pk=night.expired.pk).is_active
    assert {line["ingredient"]: line["to_order"] for line in report.low_stock}["Potatoes"] == "18100"
    assert not DeadLetter.objects.exists(), explain()


def test_a_worker_killed_mid_send_still_mails_the_report_once(small_menu, actors, smtp_sink, celery_worker):
    # Given the relay holding the first mail unanswered, and short claims
    smtp_sink.hold_next(1)
    worker = celery_worker(smtp_sink, env={"INVENTORY_EMAIL_CLAIM_SECONDS": "3"})

    def explain() -> str:
        return smtp_sink.describe() + "\n" + worker.explain()

    # When last night is built by hand and the worker's child dies while sending its email
    call_command("inventory_nightly")
    wait_until(smtp_sink.held.is_set, timeout=20, what="the worker to be sending the report", explain=explain)
    children = worker.pool_pids()
    assert len(children) == 1, explain()
    os.kill(children[0], signal.SIGKILL)
    wait_until(lambda: smtp_sink.abandoned == 1, timeout=10, what="the held mail to drop", explain=explain)

    # Then the redelivered task waits out the dead child's claim and mails it, once
    wait_until(lambda: inventory_mails(smtp_sink), timeout=40, what="the report mailed", explain=explain)
    time.sleep(2)  # a duplicate would arrive within this
    assert len(inventory_mails(smtp_sink)) == 1, explain()
    assert re.search(r"WorkerLostError", worker.log()), explain()
    report = InventoryReport.objects.get()
    assert report.email_sent_at is not None and report.email_recipients == [actors.manager.email]
    assert not DeadLetter.objects.exists(), explain()
