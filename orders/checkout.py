"""What the doors do with a customer's order as a whole: check out, call it off.

These services combine the order core (orders.services) with payments
(orders.payments.services). Payments already import the core (a payment
moves an order to "paid", expiry cancels it), so the combination lives one
floor above both instead of in either: the core never imports payments, and
only doors (the pages, the floor, the admin, the API) import this module.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum

from accounts.roles import Actor
from orders.models import Order, OrderStatus
from orders.payments.services import (
    PaymentsUnavailable,
    order_cancel_paid,
    payment_start,
    payments_available,
)
from orders.pricing import CartLine
from orders.selectors import order_paid_online
from orders.services import OrderDetails, cancel_reason, order_cancel, order_place

PAYMENTS_DOWN = (
    "Payments are temporarily unavailable, so we cannot take your order right now. "
    "Please try again in a few minutes."
)


class CheckoutStep(StrEnum):
    # Go to the provider's payment page (CheckoutResult.next_url).
    PAY_ONLINE = "pay_online"
    # A table's order: the waiter takes the money at the table (floor page).
    PAY_AT_TABLE = "pay_at_table"
    # The same checkout was sent before: its order stands, nothing new was made.
    ALREADY_PLACED = "already_placed"


@dataclass(frozen=True)
class CheckoutResult:
    order: Order
    next_step: CheckoutStep
    # Where the customer goes next: the provider's payment page, or the order's own page.
    next_url: str
    # Only a checkout that made its order and started its payment empties the cart;
    # a repeated one leaves the cart as it is.
    keep_cart: bool


def order_checkout(
    *,
    lines: Sequence[CartLine],
    details: OrderDetails,
    actor: Actor,
    idempotency_key: str,
    absolute_url: Callable[[str], str],
    specials_allowed: bool = False,
) -> CheckoutResult:
    """Places the order and starts its payment, or leaves nothing behind.

    Raises ApplicationError for what the customer must change (details, cart,
    a reused key) and PaymentsUnavailable (503) when the provider cannot take
    the money: checked first (an order nobody can pay for would only expire
    later), and if the provider fails on the first call the order just made is
    cancelled. Either way the cart is the customer's to try again with; after
    a cancelled order, `error.data["cancelled_order"]` says the key was used.
    `absolute_url` turns the order's path into the link the provider sends the
    customer back to. `specials_allowed` says whether the flag "vip_specials"
    is on for this request (menu.specials), checked again here whatever the
    cart held.
    """
    if not payments_available():
        raise PaymentsUnavailable(PAYMENTS_DOWN)
    order, created = order_place(
        lines=lines,
        details=details,
        actor=actor,
        idempotency_key=idempotency_key,
        specials_allowed=specials_allowed,
    )
    order_url = order.get_absolute_url()
    if not created:
        return CheckoutResult(order, CheckoutStep.ALREADY_PLACED, order_url, keep_cart=True)
    if order.placed_by_id is not None:
        return CheckoutResult(order, CheckoutStep.PAY_AT_TABLE, order_url, keep_cart=False)
    try:
        session = payment_start(order=order, return_url=absolute_url(order_url))
    except PaymentsUnavailable as error:
        # Nothing half-made: the order goes, the cart stays for a later try.
        order_cancel(order=order, actor=Actor.system("payments"), reason="payments unavailable at checkout")
        raise PaymentsUnavailable(PAYMENTS_DOWN, data={"cancelled_order": order.number}) from error
    return CheckoutResult(order, CheckoutStep.PAY_ONLINE, session.redirect_url, keep_cart=False)


def order_cancel_by(
    *, order: Order, actor: Actor, reason: str = "", expected_version: int | None = None
) -> Order:
    """Calls an order off for whoever asks; the state machine decides whether they may.

    Unpaid, it is cancelled. Paid online and not yet started by the kitchen,
    it is refunded in full (orders.payments.services.order_cancel_paid). Money
    staff took in person goes back in person, so for staff such an order is
    refused like any other paid one; a customer is told to ask staff.
    """
    reason = cancel_reason(actor=actor, reason=reason)
    if order.status == OrderStatus.PAID and (not actor.is_staff_member or order_paid_online(order=order)):
        return order_cancel_paid(order=order, actor=actor, reason=reason, expected_version=expected_version)
    return order_cancel(order=order, actor=actor, reason=reason, expected_version=expected_version)
