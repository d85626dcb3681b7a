"""Live order updates: what a tracking socket receives, and how it is sent.

Every message carries `seq`, the order's version: it rises by exactly one
with each status change, so a client that sees a gap knows it missed one and
asks for the state again. Broadcasts go out from the outbox, after commit.
"""

from __future__ import annotations

from typing import Any

from orders.models import Order, OrderStatus, OutboxEvent
from restaurant.broadcast import group_send


def order_group(order_id: int) -> str:
    return f"order.{order_id}"


def order_snapshot(order: Order) -> dict[str, Any]:
    return {
        "type": "order.snapshot",
        "seq": order.version,
        "order": {
            "number": order.number,
            "status": order.status,
            "status_label": order.get_status_display(),
        },
    }


def broadcast_order_event(event: OutboxEvent) -> None:
    """Sends one status change to everyone tracking the order."""
    status = event.topic.removeprefix("order.")
    message = {
        "type": "order.status",
        "seq": event.payload.get("seq"),
        "status": status,
        "status_label": OrderStatus(status).label if status in OrderStatus.values else status,
    }
    group_send(order_group(event.order_pk), {"type": "live.event", "message": message})
