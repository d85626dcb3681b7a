"""The kitchen's outbox consumers: thin, each calls one service (or broadcasts)."""

from __future__ import annotations

from kitchen.live import broadcast_board_event
from kitchen.services import tickets_announce_for_order, tickets_create_for_order, tickets_void_for_order
from orders.models import OutboxEvent


def on_order_paid(event: OutboxEvent) -> None:
    tickets_create_for_order(order_id=event.order_id)


def on_order_refunded(event: OutboxEvent) -> None:
    tickets_void_for_order(order_id=event.order_id)


def on_order_completed(event: OutboxEvent) -> None:
    tickets_announce_for_order(order_id=event.order_id)


def on_tickets_changed(event: OutboxEvent) -> None:
    broadcast_board_event(event)
