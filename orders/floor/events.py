"""The live floor's events: their schemas, and its outbox handlers (thin: one service or a broadcast each).

Every event of an order (`order.<status>`, placing included) gets a
`floor.orders` outbox row carrying a FloorOrdersPayload, recorded in the
same transaction (a recorder, so its number is taken in commit order); a
floor socket receives a FloorSnapshotMessage on connect, then a
FloorOrdersMessage per change (orders.floor.selectors, orders.floor.live).
tests/kitchen/test_event_schemas.py checks them against what is really
recorded and sent. Subscribed from OrdersConfig.ready.
"""

from __future__ import annotations

from typing import Literal, TypedDict

from orders.floor.live import broadcast_floor_event
from orders.floor.services import FLOOR_TOPIC, floor_order_announce
from orders.models import OrderStatus
from orders.outbox.models import OutboxEvent

# Every event of an order the floor shows: placed (awaiting payment), paid,
# cooking, ready, handed over, cancelled, refunded.
ORDER_TOPICS = tuple(f"order.{status}" for status in OrderStatus.values)


class FloorLine(TypedDict):
    name: str
    quantity: int
    modifiers: str


class FloorOrderState(TypedDict):
    id: int
    version: int
    number: str
    status: str
    status_label: str
    order_type: str
    # The label of its hand-over button (orders.models.HandOver).
    hand_over: str
    # The table it sits at; None, or a table not in the snapshot, puts it at the pass.
    table_id: int | None
    where: str
    total: str
    # The waiter who took it; empty when the guest ordered.
    taken_by: str
    instructions: str
    promised: str
    lines: list[FloorLine]
    url: str
    placed_at: str
    status_at: str


class FloorTab(TypedDict):
    # The bill's page, and the tab's total so far.
    url: str
    total: str


class FloorTableState(TypedDict):
    id: int
    label: str
    area: str
    seats: int
    # Its open tab; a round added or the bill paid shows at the next snapshot.
    tab: FloorTab | None


class FloorOrdersPayload(TypedDict):
    seq: int
    orders: list[FloorOrderState]


class FloorOrdersMessage(TypedDict):
    type: Literal["floor.orders"]
    seq: int
    orders: list[FloorOrderState]


class FloorSnapshotMessage(TypedDict):
    type: Literal["floor.snapshot"]
    seq: int
    now: str
    # How many orders a page shows at most, tables' first (orders.selectors.FLOOR_LIMIT).
    limit: int
    tables: list[FloorTableState]
    orders: list[FloorOrderState]


# outbox topic -> the schema of its payload
TOPICS: dict[str, type] = {FLOOR_TOPIC: FloorOrdersPayload}

# live message type -> its schema
MESSAGES: dict[str, type] = {"floor.snapshot": FloorSnapshotMessage, "floor.orders": FloorOrdersMessage}


def floor_with_order_event(event: OutboxEvent) -> None:
    floor_order_announce(order=event.order)  # type: ignore[arg-type]  # order.<status> events name their order


def on_order_event(event: OutboxEvent) -> None:
    # Run only where this process did not see the recorder succeed; it failed (undone,
    # logged) only if no floor event followed this one.
    if not OutboxEvent.objects.filter(order_id=event.order_pk, topic=FLOOR_TOPIC, pk__gt=event.pk).exists():
        floor_order_announce(order=event.order)  # type: ignore[arg-type]


def on_floor_changed(event: OutboxEvent) -> None:
    broadcast_floor_event(event)
