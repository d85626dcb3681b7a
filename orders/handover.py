"""Handing a ready order over at the pass: served at its table, picked up, or out for delivery.

The way is the one that fits the order's type, so the audit trail never
says a table's order went out with a driver. It is recorded as the data of
the order's "ready → completed" audit row ({"handed_over": way}), and the
order's page, the floor and the boards follow the completion as they follow
every status change (the outbox's order.completed).
"""

from __future__ import annotations

from accounts.permissions import Capability, can
from accounts.roles import Actor
from orders.models import HAND_OVER_BY_TYPE, HandOver, Order, OrderStatus, hand_over_way
from orders.services import order_transition
from restaurant.errors import ApplicationError, Conflict, Forbidden

# The ways are defined beside the order types (orders.models), which the floor reads too.
__all__ = ["HAND_OVER_BY_TYPE", "HandOver", "hand_over_way", "order_hand_over"]


def order_hand_over(*, order: Order, actor: Actor, how: str, expected_version: int) -> Order:
    """Marks a ready order handed over (completed), recording how, at the version the person saw.

    Checked before anything is written, each with its own code: the right to
    serve (SERVE: waiters, chefs, managers), a way that exists, the way that
    fits the order's type, the order ready. The move itself is
    order_transition's conditional UPDATE, so of two people pressing at once
    one hands it over and the other gets a Conflict.
    """
    if not can(actor, Capability.SERVE):
        raise Forbidden("Only the floor and the kitchen hand orders over.", code="not_allowed_to_serve")
    if how not in HandOver.values:
        raise ApplicationError("That is not a way to hand an order over.", code="unknown_hand_over")
    expected = hand_over_way(order)
    if how != expected:
        raise ApplicationError(
            f"Order {order.number} is {order.get_order_type_display().lower()}: "
            f"it is {expected.label.lower()}, not {HandOver(how).label.lower()}.",
            code="wrong_hand_over",
            data={"expected": expected.value},
        )
    if order.status != OrderStatus.READY:
        raise Conflict(
            f"Order {order.number} is {order.get_status_display().lower()}, not ready to hand over.",
            code="order_not_ready",
            data={"status": order.status},
        )
    return order_transition(
        order=order,
        to_status=OrderStatus.COMPLETED,
        actor=actor,
        reason=HandOver(how).label.lower(),
        expected_version=expected_version,
        data={"handed_over": how},
    )
