"""The kitchen's events: their schemas, and its outbox handlers (thin, each calls one service or broadcasts).

`kitchen.tickets` outbox rows carry a BoardTicketsPayload
(kitchen.services); a board socket receives a BoardSnapshotMessage on
connect and a BoardTicketsMessage per change (kitchen.selectors,
kitchen.live). tests/kitchen/test_event_schemas.py checks them against what
is really recorded and sent.

Its outbox handlers are consumers: they run when an event is published,
after the change that recorded it committed.
"""

from __future__ import annotations

from typing import Literal, TypedDict

from kitchen.live import broadcast_board_event
from kitchen.models import Ticket
from kitchen.services import tickets_announce_for_order, tickets_create_for_order, tickets_void_for_order
from orders.models import OutboxEvent


class TicketLine(TypedDict):
    name: str
    quantity: int
    modifiers: str


class TicketState(TypedDict):
    id: int
    version: int
    status: str
    station: str
    station_name: str
    order_id: int
    order_number: str
    order_status: str
    order_type: str
    where: str
    instructions: str
    # "Promised 12:45" or "Scheduled 13:00" (kitchen pacing); empty for a table's order.
    promised: str
    lines: list[TicketLine]
    created_at: str
    started_at: str | None
    bumped_at: str | None


class StationState(TypedDict):
    slug: str
    name: str
    warn_after_seconds: int
    late_after_seconds: int


class BoardTicketsPayload(TypedDict):
    seq: int
    tickets: list[TicketState]


class BoardTicketsMessage(TypedDict):
    type: Literal["board.tickets"]
    seq: int
    tickets: list[TicketState]


class BoardSnapshotMessage(TypedDict):
    type: Literal["board.snapshot"]
    seq: int
    now: str
    stations: list[StationState]
    tickets: list[TicketState]


# outbox topic -> the schema of its payload
TOPICS: dict[str, type] = {"kitchen.tickets": BoardTicketsPayload}

# live message type -> its schema
MESSAGES: dict[str, type] = {"board.snapshot": BoardSnapshotMessage, "board.tickets": BoardTicketsMessage}


def tickets_with_payment(event: OutboxEvent) -> None:
    tickets_create_for_order(order_id=event.order_pk)


def on_order_paid(event: OutboxEvent) -> None:
    # Published after the paying transaction made the tickets: one cheap look, no lock.
    if not Ticket.objects.filter(order_id=event.order_pk).exists():
        tickets_create_for_order(order_id=event.order_pk)


def on_order_refunded(event: OutboxEvent) -> None:
    tickets_void_for_order(order_id=event.order_pk)


def on_order_completed(event: OutboxEvent) -> None:
    tickets_announce_for_order(order_id=event.order_pk)


def on_tickets_changed(event: OutboxEvent) -> None:
    broadcast_board_event(event)
