"""Orders scheduled for later reach the board their prep time before their slot, not when paid.

The order itself says when it may reach the kitchen (kitchen_release_at);
the sweep that beat runs releases what is due. The last test runs it with
a real beat and a real worker, stopped and started again in between.
"""

from __future__ import annotations

import os
import sys
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.roles import Actor
from kitchen.models import Ticket
from kitchen.services import tickets_release_due
from orders.models import Order, OrderStatus
from orders.pacing.selectors import ASAP, pacing_quote
from orders.pricing import CartLine
from orders.services import OrderDetails, order_place, order_transition
from tests.conftest import client_for
from tests.harness import worker as worker_harness
from tests.harness.processes import Process, Processes, wait_until
from tests.kitchen.conftest import TILL

celery_worker = worker_harness.celery_worker


def place(menu, pickup=ASAP) -> Order:  # type: ignore[no-untyped-def]
    order, _ = order_place(
        lines=[CartLine(menu.fries.pk, 2)],
        details=OrderDetails(order_type="pickup", contact_name="Ada", contact_email="ada@example.test"),
        actor=Actor.guest(),
        pickup=pickup,
    )
    return order


def pay_through_the_outbox(order: Order, capture) -> Order:  # type: ignore[no-untyped-def]
    # The kitchen hears "order.paid" as in production: published after commit.
    with capture(execute=True):
        order = order_transition(order=order, to_status=OrderStatus.PAID, actor=TILL)
    return order


def later_slot(menu):  # type: ignore[no-untyped-def]
    return pacing_quote(items=2).open_slots[8].starts_at


def the_time_comes(order: Order) -> None:
    """What the clock does for a scheduled order: its moment to reach the kitchen arrives."""
    Order.objects.filter(pk=order.pk).update(kitchen_release_at=timezone.now() - timedelta(seconds=1))


@pytest.mark.django_db
def test_an_asap_order_reaches_the_board_when_paid_showing_its_promised_time(
    kitchen, small_menu, actors, django_capture_on_commit_callbacks
):
    order = pay_through_the_outbox(place(small_menu), django_capture_on_commit_callbacks)

    ticket = Ticket.objects.get(order=order)
    board = client_for(actors.chef).get(reverse("kitchen:board")).content.decode()
    assert f'data-ticket="{ticket.pk}"' in board
    assert f"Promised {timezone.localtime(order.promised_at).strftime('%H:%M')}" in board  # type: ignore[arg-type]


@pytest.mark.django_db
def test_a_scheduled_order_waits_off_the_board_until_its_time_then_shows_its_slot(
    kitchen, small_menu, actors, django_capture_on_commit_callbacks
):
    # Given a paid order for a slot two hours away
    slot = later_slot(small_menu)
    order = pay_through_the_outbox(place(small_menu, slot), django_capture_on_commit_callbacks)
    chef = client_for(actors.chef)

    # Then "order.paid" made no tickets, and the sweep finds nothing due
    assert order.is_scheduled() and order.kitchen_release_at > timezone.now()  # type: ignore[operator]
    assert not Ticket.objects.exists()
    assert tickets_release_due() == 0
    assert "Scheduled" not in chef.get(reverse("kitchen:board")).content.decode()

    # When its time comes, the sweep puts it on the board, once
    the_time_comes(order)
    with django_capture_on_commit_callbacks(execute=True):
        assert tickets_release_due() == 1
    assert tickets_release_due() == 0

    ticket = Ticket.objects.get(order=order)
    board = chef.get(reverse("kitchen:board")).content.decode()
    assert f'data-ticket="{ticket.pk}"' in board
    assert f"Scheduled {timezone.localtime(slot).strftime('%H:%M')}" in board


@pytest.mark.django_db
def test_a_scheduled_order_refunded_before_its_time_never_reaches_the_board(
    kitchen, small_menu, django_capture_on_commit_callbacks
):
    order = pay_through_the_outbox(
        place(small_menu, later_slot(small_menu)), django_capture_on_commit_callbacks
    )
    order_transition(order=order, to_status=OrderStatus.REFUNDED, actor=TILL, reason="changed plans")

    the_time_comes(order)

    assert tickets_release_due() == 0
    assert not Ticket.objects.exists()


@pytest.mark.django_db
def test_an_unpaid_scheduled_order_is_not_released(kitchen, small_menu):
    order = place(small_menu, later_slot(small_menu))
    the_time_comes(order)
    assert tickets_release_due() == 0


# ---------------------------------------------------------------- with a real beat and worker


SWEEP = r"Task kitchen\.tasks\.release_scheduled_orders\[[^\]]+\] succeeded in [\d.]+s: (\d+)"


def start_beat(processes: Processes, tmp_path) -> Process:  # type: ignore[no-untyped-def]
    return processes.start(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "restaurant",
            "beat",
            "-s",
            str(tmp_path / f"beat-schedule-{os.getpid()}"),
            "-l",
            "info",
        ],
        name="celery beat",
        env=worker_harness.worker_env(None, {"KITCHEN_RELEASE_SWEEP_SECONDS": "1"}),
    )


@pytest.mark.postgres
@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_beat_and_a_real_worker_put_a_scheduled_order_on_the_board_at_its_time_and_not_before(
    kitchen, small_menu, celery_worker, processes, tmp_path
):
    # Given a paid order for a later slot, the "order paid" event published
    order = place(small_menu, later_slot(small_menu))
    order = order_transition(order=order, to_status=OrderStatus.PAID, actor=TILL)
    wait_until(
        lambda: not order.outbox_events.filter(published_at__isnull=True).exists(),
        timeout=20,
        what="order.paid published",
    )

    # When beat and a worker run the sweep every second
    worker = celery_worker(env={"KITCHEN_RELEASE_SWEEP_SECONDS": "1"})
    beat = start_beat(processes, tmp_path)
    worker.wait_for_log(SWEEP, count=3, timeout=30)

    # Then, before its time, it is not on the board
    assert [m.group(1) for m in worker.find(SWEEP)][:3] == ["0", "0", "0"]
    assert not Ticket.objects.filter(order=order).exists()

    # And when the worker and beat are stopped, its time comes while they are down,
    # and they start again, the order reaches the board: nothing was held in memory
    beat.stop()
    worker.stop()
    the_time_comes(order)
    assert not Ticket.objects.filter(order=order).exists()
    worker = celery_worker(env={"KITCHEN_RELEASE_SWEEP_SECONDS": "1"})
    start_beat(processes, tmp_path)
    wait_until(
        lambda: Ticket.objects.filter(order=order).exists(),
        timeout=30,
        what="the scheduled order's ticket",
        explain=worker.explain,
    )
    order.refresh_from_db()
    ticket = Ticket.objects.get(order=order)
    assert ticket.created_at >= order.kitchen_release_at  # type: ignore[operator]
    assert order.status == OrderStatus.PAID
    worker.wait_for_log(SWEEP.replace(r"(\d+)", "1"), timeout=30)
