"""The order state machine: the one table of which status may follow which, and who may move it.

"cancelled" means no money was taken; a paid order that will not be served is
"refunded" instead, so the status always tells whether money is held.
"""

from __future__ import annotations

from accounts.roles import Actor, Role
from orders.models import OrderStatus as S

_STAFF_AT_TILL = frozenset({Role.WAITER, Role.MANAGER})
_KITCHEN = frozenset({Role.CHEF, Role.MANAGER})

TRANSITIONS: dict[tuple[str, str], frozenset[Role]] = {
    # Payment confirmed by the provider, or taken at the table by staff.
    (S.AWAITING_PAYMENT, S.PAID): frozenset({Role.SYSTEM}) | _STAFF_AT_TILL,
    (S.AWAITING_PAYMENT, S.CANCELLED): frozenset({Role.CUSTOMER, Role.SYSTEM}) | _STAFF_AT_TILL,
    (S.PAID, S.IN_PREPARATION): _KITCHEN,
    (S.PAID, S.REFUNDED): frozenset({Role.MANAGER, Role.SYSTEM}),
    (S.IN_PREPARATION, S.READY): _KITCHEN,
    (S.IN_PREPARATION, S.REFUNDED): frozenset({Role.MANAGER, Role.SYSTEM}),
    # A chef recalls a ticket bumped by mistake.
    (S.READY, S.IN_PREPARATION): _KITCHEN,
    (S.READY, S.COMPLETED): frozenset({Role.WAITER, Role.CHEF, Role.MANAGER}),
    (S.READY, S.REFUNDED): frozenset({Role.MANAGER, Role.SYSTEM}),
    (S.COMPLETED, S.REFUNDED): frozenset({Role.MANAGER, Role.SYSTEM}),
}

# The kitchen may see an order only from here on: nothing is cooked unpaid.
KITCHEN_STATUSES = (S.PAID, S.IN_PREPARATION, S.READY)
FINAL_STATUSES = frozenset({S.CANCELLED, S.REFUNDED})


def is_allowed(from_status: str, to_status: str) -> bool:
    return (from_status, to_status) in TRANSITIONS


def may_trigger(actor: Actor, from_status: str, to_status: str) -> bool:
    allowed = TRANSITIONS.get((from_status, to_status))
    return allowed is not None and actor.has_any(allowed)


def next_statuses(from_status: str, actor: Actor) -> list[str]:
    return [to for (frm, to), roles in TRANSITIONS.items() if frm == from_status and actor.has_any(roles)]
