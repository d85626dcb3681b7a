"""Celery tasks of the order core: thin doors that take ids and call a service.

Every task is idempotent (a status guard or a lock), because acks_late and
reject-on-worker-lost redeliver a task whose worker died. Names are given
explicitly: queued messages, dead letters and the routes name a task, and
must keep finding it if the code moves.
"""

from __future__ import annotations

from orders.outbox.dead_letters import reliable_task


@reliable_task(name="orders.tasks.send_order_confirmation")
def send_order_confirmation(order_id: int) -> bool:
    from orders.notifications import EmailClaimed, order_confirmation_send

    try:
        return order_confirmation_send(order_id=order_id)
    except EmailClaimed as claimed:
        # Another worker is sending it, or died doing so: look again once its claim could have expired.
        raise send_order_confirmation.retry(exc=claimed, countdown=claimed.retry_in) from claimed


@reliable_task(name="orders.tasks.send_order_cancellation")
def send_order_cancellation(order_id: int) -> bool:
    from orders.notifications import EmailClaimed, order_cancellation_send

    try:
        return order_cancellation_send(order_id=order_id)
    except EmailClaimed as claimed:
        raise send_order_cancellation.retry(exc=claimed, countdown=claimed.retry_in) from claimed


@reliable_task(name="orders.tasks.send_order_ready")
def send_order_ready(order_id: int) -> bool:
    from orders.notifications import EmailClaimed, order_ready_send

    try:
        return order_ready_send(order_id=order_id)
    except EmailClaimed as claimed:
        raise send_order_ready.retry(exc=claimed, countdown=claimed.retry_in) from claimed


@reliable_task(name="orders.tasks.send_refund_email")
def send_refund_email(refund_id: int) -> bool:
    from orders.notifications import EmailClaimed, refund_email_send

    try:
        return refund_email_send(refund_id=refund_id)
    except EmailClaimed as claimed:
        raise send_refund_email.retry(exc=claimed, countdown=claimed.retry_in) from claimed


@reliable_task(name="orders.tasks.idempotency_keys_purge")
def idempotency_keys_purge() -> int:
    from orders.idempotency import idempotency_records_purge

    return idempotency_records_purge()
