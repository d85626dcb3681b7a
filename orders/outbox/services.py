"""The transactional outbox: record events with the change, publish them after commit.

Publishing an event means handing it to its consumers, which every app
subscribes from its AppConfig.ready (orders: the live order page, emails,
partner webhooks; the kitchen: tickets of paid orders), so the outbox knows
none of them. Consumers are idempotent, so an event published twice — by the
after-commit relay and by the sweep — has its effect once.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from django.db import transaction
from django.utils import timezone

from orders.outbox.dead_letters import task_named
from orders.outbox.models import OutboxEvent

if TYPE_CHECKING:
    from orders.models import Order

logger = logging.getLogger(__name__)

PUBLISH_TASK_NAME = "orders.tasks.outbox_publish_task"


def outbox_enqueue(task_name: str, *args: object) -> None:
    """Hands work to the queue while the event is being published.

    With a broker the message is sent before the event is marked published,
    so a crash in between publishes it again (at least once) rather than never.
    Without one (eager mode) the task would run inside this transaction, and
    its failure would undo the publish; it runs right after commit instead.
    """
    from restaurant.celery import app

    task = task_named(task_name)
    if app.conf.task_always_eager:
        transaction.on_commit(lambda: task.delay(*args))
    else:
        task.delay(*args)


# topic -> its consumers, in the order they were subscribed. Apps subscribe
# from their AppConfig.ready; handlers enqueue work or make small idempotent
# writes in the publishing transaction.
_consumers: dict[str, list[Callable[[OutboxEvent], None]]] = {}


def outbox_subscribe(topic: str, handler: Callable[[OutboxEvent], None]) -> None:
    """Adds a consumer for a topic (other apps call this from AppConfig.ready)."""
    handlers = _consumers.setdefault(topic, [])
    if handler not in handlers:
        handlers.append(handler)


def outbox_consumers(topic: str) -> tuple[Callable[[OutboxEvent], None], ...]:
    """The consumers of a topic, in the order publishing calls them."""
    return tuple(_consumers.get(topic, ()))


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
    try:
        task_named(PUBLISH_TASK_NAME).delay(event_id)
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
        for consumer in _consumers.get(event.topic, []):
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
