"""The kitchen's events: their schemas, and its outbox handlers (thin, each calls one service or broadcasts).

`kitchen.tickets` outbox rows carry a BoardTicketsPayload and
`kitchen.sold_out` rows a BoardSoldOutPayload (kitchen.services); a board
socket receives a BoardSnapshotMessage on connect, then a
BoardTicketsMessage per ticket change and a BoardSoldOutMessage per change
of the 86 list (kitchen.selectors, kitchen.live).
tests/kitchen/test_event_schemas.py checks them against what is really
recorded and sent.

Its outbox handlers are consumers: they run when an event is published,
after the change that recorded it committed. `on_menu_changed` is the
kitchen's listener of menu.changes, told after a menu or stock change commits.
"""

from __future__ import annotations

from typing import Literal, TypedDict

from kitchen.live import broadcast_board_event, broadcast_board_sold_out
from kitchen.models import Ticket
from kitchen.services import (
    board_sold_out_announce,
    tickets_announce_for_order,
    tickets_create_for_order,
    tickets_void_for_order,
)
from orders.models import OrderStatus, OutboxEvent


class TicketLine(TypedDict):
    name: str
    quantity: int
    modifiers: str
    # The customer's note on this line: a ticket holds its station's lines only, so only that station sees it.
    note: str


class TicketState(TypedDict):
    id: int
    version: int
    status: str
    station: str
    station_name: str
    order_id: int
    order_number: str
    order_status: str
    # The order's version: what expo's hand-over sends back (orders.handover).
    order_version: int
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


class SoldOutEntry(TypedDict):
    name: str
    # "86" (a manager took it off) or "out of stock" (the pantry cannot make one).
    why: str


class BoardTicketsPayload(TypedDict):
    seq: int
    tickets: list[TicketState]


class BoardTicketsMessage(TypedDict):
    type: Literal["board.tickets"]
    seq: int
    tickets: list[TicketState]


class BoardSoldOutPayload(TypedDict):
    seq: int
    sold_out: list[SoldOutEntry]


class BoardSoldOutMessage(TypedDict):
    type: Literal["board.sold_out"]
    seq: int
    # The whole list: it replaces the one the board shows.
    sold_out: list[SoldOutEntry]


class BoardSnapshotMessage(TypedDict):
    type: Literal["board.snapshot"]
    seq: int
    now: str
    stations: list[StationState]
    tickets: list[TicketState]
    sold_out: list[SoldOutEntry]


# outbox topic -> the schema of its payload
TOPICS: dict[str, type] = {"kitchen.tickets": BoardTicketsPayload, "kitchen.sold_out": BoardSoldOutPayload}

# live message type -> its schema
MESSAGES: dict[str, type] = {
    "board.snapshot": BoardSnapshotMessage,
    "board.tickets": BoardTicketsMessage,
    "board.sold_out": BoardSoldOutMessage,
}


def tickets_with_payment(event: OutboxEvent) -> None:
    # Recorded by order_transition, whose UPDATE holds the order's row: its copy is current.
    tickets_create_for_order(
        order_id=event.order_pk,
        locked=event.order,
        never_in_kitchen=event.payload.get("from") == OrderStatus.AWAITING_PAYMENT,
    )


def on_order_paid(event: OutboxEvent) -> None:
    # Run only where this process did not see the recorder make them (the relay,
    # the sweep): one cheap look, no lock.
    if not Ticket.objects.filter(order_id=event.order_pk).exists():
        tickets_create_for_order(order_id=event.order_pk)


def on_order_refunded(event: OutboxEvent) -> None:
    tickets_void_for_order(order_id=event.order_pk)


def on_order_completed(event: OutboxEvent) -> None:
    tickets_announce_for_order(order_id=event.order_pk)


def on_tickets_changed(event: OutboxEvent) -> None:
    broadcast_board_event(event)


def on_sold_out_changed(event: OutboxEvent) -> None:
    broadcast_board_sold_out(event)


def on_menu_changed() -> None:
    board_sold_out_announce()
