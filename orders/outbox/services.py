"""The transactional outbox: record events with the change, publish them after commit.

Publishing an event means handing it to its consumers: the live order page,
emails, partner webhooks, and whatever other apps add to CONSUMERS from their
AppConfig.ready (the kitchen makes tickets of paid orders), so that `orders`
never imports them. Consumers are idempotent, so an event published twice — by the
after-commit relay and by the sweep — has its effect once.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from django.db import transaction
from django.utils import timezone

from orders.outbox.models import OutboxEvent

if TYPE_CHECKING:
    from orders.models import Order

logger = logging.getLogger(__name__)


def outbox_enqueue(task: Any, *args: object) -> None:
    """Hands work to the queue while the event is being published.

    With a broker the message is sent before the event is marked published,
    so a crash in between publishes it again (at least once) rather than never.
    Without one (eager mode) the task would run inside this transaction, and
    its failure would undo the publish; it runs right after commit instead.
    """
    from restaurant.celery import app

    if app.conf.task_always_eager:
        transaction.on_commit(lambda: task.delay(*args))
    else:
        task.delay(*args)


def _enqueue_confirmation_email(event: OutboxEvent) -> None:
    from orders.tasks import send_order_confirmation

    outbox_enqueue(send_order_confirmation, event.order_id)


def _enqueue_cancellation_email(event: OutboxEvent) -> None:
    from orders.tasks import send_order_cancellation

    outbox_enqueue(send_order_cancellation, event.order_id)


def _broadcast_live(event: OutboxEvent) -> None:
    from orders.live import broadcast_order_event

    try:
        broadcast_order_event(event)
    except Exception:  # noqa: BLE001 - a channel layer outage must not block email and partners
        # Live pages resync from the database on reconnect; nothing is lost.
        logger.warning("live broadcast failed", extra={"event_id": event.pk})


def _create_partner_deliveries(event: OutboxEvent) -> None:
    from orders.partners.services import partner_deliveries_create

    partner_deliveries_create(event=event)


# topic -> what publishing it does. Handlers enqueue work or make small
# idempotent writes in the publishing transaction.
CONSUMERS: dict[str, list[Callable[[OutboxEvent], None]]] = {
    "order.paid": [_broadcast_live, _enqueue_confirmation_email, _create_partner_deliveries],
    "order.in_preparation": [_broadcast_live],
    "order.ready": [_broadcast_live, _create_partner_deliveries],
    "order.completed": [_broadcast_live],
    "order.cancelled": [_broadcast_live, _enqueue_cancellation_email],
    "order.refunded": [_broadcast_live, _create_partner_deliveries],
}


def outbox_subscribe(topic: str, handler: Callable[[OutboxEvent], None]) -> None:
    """Adds a consumer for a topic (other apps call this from AppConfig.ready)."""
    handlers = CONSUMERS.setdefault(topic, [])
    if handler not in handlers:
        handlers.append(handler)


def outbox_record(*, order: Order, topic: str, payload: dict[str, Any] | None = None) -> OutboxEvent:
    """Records an event in the caller's transaction and publishes it once that commits.

    The committing process publishes it right after commit: consumers only
    broadcast, enqueue tasks or make small idempotent writes, and a queue hop
    in between would only delay live pages and the kitchen. If that fails the
    event goes to the queue, whose task retries with backoff; the sweep
    publishes whatever a crash left behind.
    """
    event = OutboxEvent.objects.create(order=order, topic=topic, payload=payload or {})
    transaction.on_commit(lambda: _publish_now(event.pk))
    return event


def _publish_now(event_id: int) -> None:
    try:
        outbox_publish(event_id=event_id)
    except Exception:  # noqa: BLE001 - the change is committed; the queue (or the sweep) publishes it
        logger.warning("outbox inline publish failed; handing it to the queue", extra={"event_id": event_id})
        _publish_soon(event_id)


def _publish_soon(event_id: int) -> None:
    from orders.outbox.tasks import outbox_publish_task

    try:
        outbox_publish_task.delay(event_id)
    except Exception:  # noqa: BLE001 - a broker outage must not fail the request; the sweep retries
        logger.warning("outbox relay could not enqueue; the sweep will publish", extra={"event_id": event_id})


def outbox_publish(*, event_id: int) -> bool:
    """Publishes one event unless it is published already (or being published)."""
    with transaction.atomic():
        # SKIP LOCKED: a sweep and a relay on the same event never both publish it.
        event = (
            OutboxEvent.objects.select_for_update(skip_locked=True)
            .filter(pk=event_id, published_at__isnull=True)
            .first()
        )
        if event is None:
            return False
        for consumer in CONSUMERS.get(event.topic, []):
            consumer(event)
        event.published_at = timezone.now()
        event.attempts += 1
        event.save(update_fields=["published_at", "attempts"])
    logger.info("outbox event published", extra={"event_id": event_id, "topic": event.topic})
    return True


def outbox_sweep(*, older_than_seconds: int = 10, batch_size: int = 200) -> int:
    """Publishes events the after-commit relay missed (a crash, a broker outage)."""
    cutoff = timezone.now() - timedelta(seconds=older_than_seconds)
    pending = list(
        OutboxEvent.objects.filter(published_at__isnull=True, created_at__lte=cutoff)
        .order_by("created_at", "id")
        .values_list("pk", flat=True)[:batch_size]
    )
    return sum(outbox_publish(event_id=event_id) for event_id in pending)
