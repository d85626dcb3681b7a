"""What the order core does when its events are published: subscribed from OrdersConfig.ready.

Each handler runs inside the outbox's publishing transaction, so it only
broadcasts, enqueues a task or makes a small idempotent write.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from orders.outbox.models import OutboxEvent
from orders.outbox.services import outbox_enqueue

logger = logging.getLogger(__name__)


def live_broadcast(event: OutboxEvent) -> None:
    from orders.live import broadcast_order_event

    try:
        broadcast_order_event(event)
    except Exception:  # noqa: BLE001 - a channel layer outage must not block email and partners
        # Live pages resync from the database on reconnect; nothing is lost.
        logger.warning("live broadcast failed", extra={"event_id": event.pk})


def confirmation_email_enqueue(event: OutboxEvent) -> None:
    outbox_enqueue("orders.tasks.send_order_confirmation", event.order_pk)


def cancellation_email_enqueue(event: OutboxEvent) -> None:
    outbox_enqueue("orders.tasks.send_order_cancellation", event.order_pk)


def partner_deliveries_enqueue(event: OutboxEvent) -> None:
    from orders.partners.services import partner_deliveries_create

    partner_deliveries_create(event=event)


# topic -> the order core's consumers, in order: the live page hears first, it
# is what a waiting guest looks at. Other apps' consumers (the kitchen's) come
# after these, since orders is installed before them.
SUBSCRIPTIONS: dict[str, list[Callable[[OutboxEvent], None]]] = {
    "order.paid": [live_broadcast, confirmation_email_enqueue, partner_deliveries_enqueue],
    "order.on_tab": [live_broadcast],
    "order.in_preparation": [live_broadcast],
    "order.ready": [live_broadcast, partner_deliveries_enqueue],
    "order.completed": [live_broadcast],
    "order.cancelled": [live_broadcast, cancellation_email_enqueue],
    "order.refunded": [live_broadcast, partner_deliveries_enqueue],
}
