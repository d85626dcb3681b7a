"""The kitchen's Celery tasks: thin doors to a service; names pinned in tests/orders/test_task_names.py."""

from __future__ import annotations

from celery import shared_task


@shared_task(name="kitchen.tasks.release_scheduled_orders")
def release_scheduled_orders() -> int:
    from kitchen.services import tickets_release_due

    return tickets_release_due()


@shared_task(name="kitchen.tasks.board_sold_out_check")
def board_sold_out_check() -> bool:
    from kitchen.services import board_sold_out_announce

    return board_sold_out_announce()
