"""Celery tasks: thin doors that take ids and call a service.

Every task is idempotent (a status guard or a lock), because acks_late and
reject-on-worker-lost redeliver a task whose worker died.
"""

from __future__ import annotations

from smtplib import SMTPException
from typing import Any

from celery import shared_task
from django.conf import settings

from orders.dead_letters import DeadLetteringTask

TRANSIENT_ERRORS = (SMTPException, ConnectionError, TimeoutError, OSError)

_RELIABLE = {
    "base": DeadLetteringTask,
    "autoretry_for": TRANSIENT_ERRORS,
    "retry_backoff": True,
    "retry_backoff_max": settings.CELERY_RETRY_BACKOFF_MAX,
    "retry_jitter": True,
    "max_retries": 8,
}


def reliable_task(fun: Any = None, /, **options: Any) -> Any:
    """A task that retries transient errors with backoff and jitter, dead-lettered after its last try.

    `@reliable_task`, or `@reliable_task(name="…")` for a name that must not
    follow the code if it moves (queued messages and beat name tasks).
    """
    decorator = shared_task(**_RELIABLE, **options)
    return decorator if fun is None else decorator(fun)


@reliable_task
def send_order_confirmation(order_id: int) -> bool:
    from orders.notifications import order_confirmation_send

    return order_confirmation_send(order_id=order_id)


@reliable_task
def send_order_cancellation(order_id: int) -> bool:
    from orders.notifications import order_cancellation_send

    return order_cancellation_send(order_id=order_id)


@reliable_task
def outbox_publish_task(event_id: int) -> bool:
    from orders.outbox import outbox_publish

    return outbox_publish(event_id=event_id)


@shared_task
def outbox_sweep() -> int:
    from orders.outbox import outbox_sweep as sweep

    return sweep()


# ---------------------------------------------------------------- partner webhooks
# Imported here so this section stands on its own; they may move to the top.
import random  # noqa: E402

from celery import Task  # noqa: E402


def _partner_webhook_backoff(retries: int) -> float:
    """Seconds before the next try: doubling from the base, capped, with ±20 % jitter.

    The jitter spreads the retries of many deliveries that failed together
    (a partner's outage) so they do not all arrive at the same moment.
    """
    delay = min(settings.PARTNER_WEBHOOK_RETRY_BASE_SECONDS * 2**retries, settings.CELERY_RETRY_BACKOFF_MAX)
    return delay * random.uniform(0.8, 1.2)  # noqa: S311 - jitter, not a secret


class PartnerWebhookTask(DeadLetteringTask):
    """Dead-letters the last failure like its base, and marks the delivery failed in the log."""

    def on_failure(self, exc: BaseException, task_id: str, args: Any, kwargs: Any, einfo: Any) -> None:
        super().on_failure(exc, task_id, args, kwargs, einfo)
        from orders.partners import partner_delivery_mark_dead

        delivery_id = args[0] if args else kwargs["delivery_id"]
        partner_delivery_mark_dead(delivery_id=delivery_id, error=exc)


@shared_task(
    base=PartnerWebhookTask,
    bind=True,
    max_retries=settings.PARTNER_WEBHOOK_MAX_ATTEMPTS - 1,
)
def deliver_partner_webhook(self: Task, delivery_id: int, outbox_event_id: int | None = None) -> bool:
    """Sends one partner delivery; retries with backoff while the partner does not answer 2xx.

    Idempotent: a delivered delivery is never sent again (its row is locked
    and its status checked). After the last try the error propagates, so the
    base class dead-letters it and marks the delivery failed.
    """
    from orders.partners import PartnerDeliveryError, partner_delivery_attempt

    retries = self.request.retries
    backoff = _partner_webhook_backoff(retries)
    last_try = self.max_retries is not None and retries >= self.max_retries
    try:
        return partner_delivery_attempt(
            delivery_id=delivery_id,
            outbox_event_id=outbox_event_id,
            retry_in=None if last_try else backoff,
        )
    except (PartnerDeliveryError, *TRANSIENT_ERRORS) as exc:
        # Past max_retries, retry() raises exc itself: the task fails for good.
        raise self.retry(exc=exc, countdown=backoff) from exc
