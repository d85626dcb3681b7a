"""The partner webhook task: one delivery, retried with backoff, dead-lettered after its last try.

Its name is the one it had in orders/tasks.py: queued messages and dead letters hold it.
"""

from __future__ import annotations

import random
from typing import Any

from celery import Task, shared_task
from django.conf import settings

from orders.outbox.dead_letters import TRANSIENT_ERRORS, DeadLetteringTask


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
        from orders.partners.services import partner_delivery_mark_dead

        delivery_id = args[0] if args else kwargs["delivery_id"]
        partner_delivery_mark_dead(delivery_id=delivery_id, error=exc)


@shared_task(
    name="orders.tasks.deliver_partner_webhook",
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
    from orders.partners.services import (
        PartnerDeliveryClaimed,
        PartnerDeliveryError,
        partner_delivery_attempt,
    )

    retries = self.request.retries
    backoff = _partner_webhook_backoff(retries)
    last_try = self.max_retries is not None and retries >= self.max_retries
    try:
        return partner_delivery_attempt(
            delivery_id=delivery_id,
            outbox_event_id=outbox_event_id,
            retry_in=None if last_try else backoff,
        )
    except PartnerDeliveryClaimed as claimed:
        # Another worker is sending it, or died doing so: look again once its claim could have expired.
        raise self.retry(exc=claimed, countdown=claimed.retry_in) from claimed
    except (PartnerDeliveryError, *TRANSIENT_ERRORS) as exc:
        # Past max_retries, retry() raises exc itself: the task fails for good.
        raise self.retry(exc=exc, countdown=backoff) from exc
