"""What the order core does when its events are published: subscribed from OrdersConfig.ready.

Each handler runs inside the outbox's publishing transaction, so it only
broadcasts, enqueues a task or makes a small idempotent write.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from orders.events import REFUND_SUCCEEDED_TOPIC
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


def ready_email_enqueue(event: OutboxEvent) -> None:
    # Every ready order: whether it is a pickup is the task's to check, with the order in hand.
    outbox_enqueue("orders.tasks.send_order_ready", event.order_pk)


def refund_email_enqueue(event: OutboxEvent) -> None:
    outbox_enqueue("orders.tasks.send_refund_email", event.payload["refund_id"])


def partner_deliveries_enqueue(event: OutboxEvent) -> None:
    from orders.partners.services import partner_deliveries_create

    partner_deliveries_create(event=event)


# Consumers that only broadcast (outbox_subscribe's `live`): run right after commit.
LIVE_CONSUMERS: frozenset[Callable[[OutboxEvent], None]] = frozenset({live_broadcast})

# topic -> the order core's consumers, in order: the live page hears first, it
# is what a waiting guest looks at. Other apps' consumers (the kitchen's) come
# after these, since orders is installed before them.
SUBSCRIPTIONS: dict[str, list[Callable[[OutboxEvent], None]]] = {
    "order.paid": [live_broadcast, confirmation_email_enqueue, partner_deliveries_enqueue],
    "order.on_tab": [live_broadcast],
    "order.in_preparation": [live_broadcast],
    "order.ready": [live_broadcast, partner_deliveries_enqueue, ready_email_enqueue],
    "order.completed": [live_broadcast],
    "order.cancelled": [live_broadcast, cancellation_email_enqueue],
    "order.refunded": [live_broadcast, partner_deliveries_enqueue],
    # The provider confirmed money went back (orders.payments.services): the customer hears how much.
    REFUND_SUCCEEDED_TOPIC: [refund_email_enqueue],
}
