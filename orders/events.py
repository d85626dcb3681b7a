"""The order's events, one schema each: what its outbox rows carry and what a tracking socket receives.

Every status change records `order.<status>` with an OrderStatusPayload
(orders.services.order_transition), and a refund the provider confirmed
`order.refund_succeeded` with a RefundSucceededPayload; a tracking socket receives an
OrderSnapshotMessage on connect and an OrderStatusMessage per change
(orders.live). tests/kitchen/test_event_schemas.py checks both against what
is really recorded and sent.
"""

from __future__ import annotations

from typing import Literal, TypedDict

from orders.models import OrderStatus

# "from" is a Python keyword, hence the functional form.
OrderStatusPayload = TypedDict("OrderStatusPayload", {"from": str, "actor": str, "seq": int})


class OrderSummary(TypedDict):
    number: str
    status: str
    status_label: str


class OrderSnapshotMessage(TypedDict):
    type: Literal["order.snapshot"]
    seq: int
    order: OrderSummary


class OrderStatusMessage(TypedDict):
    type: Literal["order.status"]
    seq: int
    status: str
    status_label: str


class RefundSucceededPayload(TypedDict):
    refund_id: int


# Recorded when the provider confirms a refund (orders.payments.services): not a status change,
# a partial refund leaves the order as it is, and each refund is told of once.
REFUND_SUCCEEDED_TOPIC = "order.refund_succeeded"

# outbox topic -> the schema of its payload
TOPICS: dict[str, type] = {
    **{f"order.{status}": OrderStatusPayload for status in OrderStatus.values},
    REFUND_SUCCEEDED_TOPIC: RefundSucceededPayload,
}

# live message type -> its schema
MESSAGES: dict[str, type] = {"order.snapshot": OrderSnapshotMessage, "order.status": OrderStatusMessage}
