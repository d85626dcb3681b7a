"""Celery tasks: thin doors that take ids and call a service.

Every task is idempotent (a status guard or a lock), because acks_late and
reject-on-worker-lost redeliver a task whose worker died.
"""

from __future__ import annotations

from smtplib import SMTPException

from celery import shared_task
from django.conf import settings

from orders.dead_letters import DeadLetteringTask

TRANSIENT_ERRORS = (SMTPException, ConnectionError, TimeoutError, OSError)


@shared_task(
    base=DeadLetteringTask,
    autoretry_for=TRANSIENT_ERRORS,
    retry_backoff=True,
    retry_backoff_max=settings.CELERY_RETRY_BACKOFF_MAX,
    retry_jitter=True,
    max_retries=8,
)
def send_order_confirmation(order_id: int) -> bool:
    from orders.notifications import order_confirmation_send

    return order_confirmation_send(order_id=order_id)


@shared_task(
    base=DeadLetteringTask,
    autoretry_for=TRANSIENT_ERRORS,
    retry_backoff=True,
    retry_backoff_max=settings.CELERY_RETRY_BACKOFF_MAX,
    retry_jitter=True,
    max_retries=8,
)
def outbox_publish_task(event_id: int) -> bool:
    from orders.outbox import outbox_publish

    return outbox_publish(event_id=event_id)


@shared_task
def outbox_sweep() -> int:
    from orders.outbox import outbox_sweep as sweep

    return sweep()
