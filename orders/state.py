"""The order state machine: which status may follow which, and the capability each move needs.

Who holds a capability is accounts.permissions.MATRIX. "cancelled" means no
money was taken; a paid order that will not be served is "refunded" instead,
so the status always tells whether money is held.
"""

from __future__ import annotations

from accounts.permissions import Capability as C
from accounts.permissions import can
from accounts.roles import Actor
from orders.models import OrderStatus as S
from orders.payments.models import (  # noqa: F401 - re-exported, see below
    PAYMENT_PAID_STATUSES,
    REFUNDABLE_PAYMENT_STATUSES,
)

TRANSITIONS: dict[tuple[str, str], frozenset[C]] = {
    # Payment confirmed by the provider, or taken at the table by staff.
    (S.AWAITING_PAYMENT, S.PAID): frozenset({C.TAKE_PAYMENT}),
    (S.AWAITING_PAYMENT, S.CANCELLED): frozenset({C.CANCEL_OWN_UNPAID_ORDER, C.CANCEL_ANY_UNPAID_ORDER}),
    # Table service (orders.tabs): a waiter sends a table's order to the kitchen
    # unpaid, as a round on the table's tab. Only staff hold PUT_ON_TAB, and
    # orders.tabs.services moves only an order staff placed for a table, so a
    # customer's own order still reaches the kitchen through "paid" alone.
    (S.AWAITING_PAYMENT, S.ON_TAB): frozenset({C.PUT_ON_TAB}),
    (S.ON_TAB, S.IN_PREPARATION): frozenset({C.COOK}),
    # The tab was paid before the kitchen started this round.
    (S.ON_TAB, S.PAID): frozenset({C.TAKE_PAYMENT}),
    # Taken off the tab before the kitchen started it: no money was taken.
    (S.ON_TAB, S.CANCELLED): frozenset({C.CANCEL_ANY_UNPAID_ORDER}),
    (S.PAID, S.IN_PREPARATION): frozenset({C.COOK}),
    (S.PAID, S.REFUNDED): frozenset({C.REFUND, C.CANCEL_OWN_PAID_ORDER}),
    (S.IN_PREPARATION, S.READY): frozenset({C.COOK}),
    (S.IN_PREPARATION, S.REFUNDED): frozenset({C.REFUND}),
    # A chef recalls an order bumped by mistake.
    (S.READY, S.IN_PREPARATION): frozenset({C.COOK}),
    (S.READY, S.COMPLETED): frozenset({C.SERVE}),
    (S.READY, S.REFUNDED): frozenset({C.REFUND}),
    (S.COMPLETED, S.REFUNDED): frozenset({C.REFUND}),
}

# Capabilities that reach only the actor's own orders.
OWN_ORDERS_ONLY = frozenset({C.CANCEL_OWN_UNPAID_ORDER, C.CANCEL_OWN_PAID_ORDER})

# The one home of every set of statuses: code that asks "is it one of these?"
# imports the set from here instead of spelling its own.

# The kitchen may see an order only from here on: nothing is cooked unpaid,
# except a table's round that staff put on its tab (paid with the bill).
KITCHEN_STATUSES = (S.PAID, S.ON_TAB, S.IN_PREPARATION, S.READY)
# Bumped tickets stay on the board, to be recalled, while their order is in these.
RECALLABLE_STATUSES = (S.IN_PREPARATION, S.READY)
# Still someone's work on the floor: waiting for payment, or paid and not yet handed over.
OPEN_STATUSES = (S.AWAITING_PAYMENT, *KITCHEN_STATUSES)
# Money was taken and is held: such an order is refunded, never cancelled.
# A tab's round is "on tab" until the kitchen starts it; from then on its
# status says what the kitchen did and its tab (orders.tabs) whether it was paid.
MONEY_TAKEN_STATUSES = frozenset({S.PAID, S.IN_PREPARATION, S.READY, S.COMPLETED})
FINAL_STATUSES = frozenset({S.CANCELLED, S.REFUNDED})
# An order is one of its coupon's uses while the restaurant is owed or holds its
# money; cancelled (expired unpaid included) or refunded, it gives the use back.
COUPON_USE_STATUSES = frozenset({S.AWAITING_PAYMENT, S.ON_TAB, *MONEY_TAKEN_STATUSES})
# Not cooked yet: an order ending from here gives its reserved stock back (menu.pantry);
# one ending later has used it, and a refund then records it as waste.
UNCOOKED_STATUSES = frozenset({S.AWAITING_PAYMENT, S.ON_TAB, S.PAID})

# PAYMENT_PAID_STATUSES and REFUNDABLE_PAYMENT_STATUSES (imported above) are
# defined beside PaymentStatus, because a Payment asks one itself
# (refundable_minor) and the models must not import this module back; code
# imports them from here like every other set.


def is_allowed(from_status: str, to_status: str) -> bool:
    return (from_status, to_status) in TRANSITIONS


def granting_capabilities(actor: Actor, from_status: str, to_status: str) -> frozenset[C]:
    """The capabilities by which this actor may make this move (empty: may not)."""
    return frozenset(c for c in TRANSITIONS.get((from_status, to_status), ()) if can(actor, c))
