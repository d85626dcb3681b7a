"""Floor broadcasts: every floor socket is in one group, and each page filters what it shows itself."""

from __future__ import annotations

import logging

from orders.outbox.models import OutboxEvent
from restaurant.broadcast import group_send

logger = logging.getLogger(__name__)

FLOOR_GROUP = "floor"


def broadcast_floor_event(event: OutboxEvent) -> None:
    """Sends changed orders to every floor page."""
    message = {"type": "floor.orders", "seq": event.payload["seq"], "orders": event.payload["orders"]}
    try:
        group_send(FLOOR_GROUP, {"type": "live.event", "message": message})
    except Exception:  # noqa: BLE001 - the change is committed; floor pages resync when they next ping
        logger.warning("floor broadcast failed", extra={"event_id": event.pk, "seq": message["seq"]})
