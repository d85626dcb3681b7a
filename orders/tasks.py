"""Celery tasks of the order core: thin doors that take ids and call a service.

Every task is idempotent (a status guard or a lock), because acks_late and
reject-on-worker-lost redeliver a task whose worker died. Names are given
explicitly: queued messages, dead letters and the routes name a task, and
must keep finding it if the code moves.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from orders.outbox.dead_letters import reliable_task


def _send_once(task: Any, send: Callable[[], bool]) -> bool:
    """Sends one claimed email (orders.notifications); while another worker holds the claim,
    or died holding it, looks again once that claim could have expired."""
    from orders.notifications import EmailClaimed

    try:
        return send()
    except EmailClaimed as claimed:
        raise task.retry(exc=claimed, countdown=claimed.retry_in) from claimed


@reliable_task(name="orders.tasks.send_order_confirmation")
def send_order_confirmation(order_id: int) -> bool:
    from orders.notifications import order_confirmation_send

    return _send_once(send_order_confirmation, lambda: order_confirmation_send(order_id=order_id))


@reliable_task(name="orders.tasks.send_order_cancellation")
def send_order_cancellation(order_id: int) -> bool:
    from orders.notifications import order_cancellation_send

    return _send_once(send_order_cancellation, lambda: order_cancellation_send(order_id=order_id))


@reliable_task(name="orders.tasks.send_order_ready")
def send_order_ready(order_id: int) -> bool:
    from orders.notifications import order_ready_send

    return _send_once(send_order_ready, lambda: order_ready_send(order_id=order_id))


@reliable_task(name="orders.tasks.send_refund_email")
def send_refund_email(refund_id: int) -> bool:
    from orders.notifications import refund_email_send

    return _send_once(send_refund_email, lambda: refund_email_send(refund_id=refund_id))


@reliable_task(name="orders.tasks.idempotency_keys_purge")
def idempotency_keys_purge() -> int:
    from orders.idempotency import idempotency_records_purge

    return idempotency_records_purge()
