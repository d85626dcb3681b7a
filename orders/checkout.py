"""What the doors do with a customer's order as a whole: check out, call it off.

These services combine the order core (orders.services) with payments
(orders.payments.services). Payments already import the core (a payment
moves an order to "paid", expiry cancels it), so the combination lives one
floor above both instead of in either: the core never imports payments, and
only doors (the pages, the floor, the admin, the API) import this module.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import nullcontext
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

from accounts.permissions import Capability, can
from accounts.roles import Actor
from orders.models import Order, OrderStatus
from orders.pacing.selectors import ASAP, Pickup
from orders.payments.services import (
    PaymentsUnavailable,
    order_cancel_paid,
    payment_start,
    payments_available,
)
from orders.pricing import CartLine
from orders.selectors import order_paid_online
from orders.services import OrderDetails, cancel_reason, order_cancel, order_place, taken_for_a_table
from orders.tabs.services import tab_round_add
from restaurant.errors import ApplicationError

PAYMENTS_DOWN = (
    "Payments are temporarily unavailable, so we cannot take your order right now. "
    "Please try again in a few minutes."
)


class TooManyUnpaidOrders(ApplicationError):
    status = 409
    default_code = "too_many_unpaid_orders"


class CheckoutStep(StrEnum):
    # Go to the provider's payment page (CheckoutResult.next_url).
    PAY_ONLINE = "pay_online"
    # A table's order staff took: it went to the kitchen as a round on the table's tab (orders.tabs).
    ON_TAB = "on_tab"
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
    visitor_order_ids: Sequence[int] = (),
    pickup: Pickup = ASAP,
    specials_allowed: bool = False,
    coupon_code: str = "",
) -> CheckoutResult:
    """Places the order and starts its payment, or leaves nothing behind.

    Raises ApplicationError for what the customer must change (details, cart,
    a reused key) and PaymentsUnavailable (503) when the provider cannot take
    the money: checked first (an order nobody can pay for would only expire
    later), and if the provider fails on the first call the order just made is
    cancelled. Either way the cart is the customer's to try again with; after
    a cancelled order, `error.data["cancelled_order"]` says the key was used.
    `absolute_url` turns the order's path into the link the provider sends the
    customer back to. `visitor_order_ids` are the orders the visitor's session
    placed before: with the signed-in account's own, past
    BRIGADE_MAX_UNPAID_ORDERS_PER_GUEST of them awaiting payment the checkout
    is refused (TooManyUnpaidOrders, 409). `pickup` is as soon as possible or
    a slot the customer picked (orders.pacing); the kitchen may refuse either
    (KitchenRefused, 409). `specials_allowed` says whether the flag
    "vip_specials" is on for this request (menu.specials), checked again here
    whatever the cart held. `coupon_code` is a code the customer applied
    (orders.coupons): refused with one message for every reason
    (CouponRefused, 400), or its discount comes off the total paid.
    A dine-in order staff take for a table goes to the kitchen at once as a
    round on the table's tab (orders.tabs.services.tab_round_add), paid with
    the bill; the next step is the tab's bill page.
    """
    # A table's round is paid with its bill, later: the provider being down
    # must not keep the waiter's order from the kitchen.
    for_table = taken_for_a_table(details=details, actor=actor)
    if not for_table and not payments_available():
        raise PaymentsUnavailable(PAYMENTS_DOWN)
    _unpaid_orders_check(actor=actor, visitor_order_ids=visitor_order_ids, idempotency_key=idempotency_key)
    # One transaction: a table's order staff take is on its tab, and at the
    # kitchen, or it is not made at all. An order paid online has no tab: its
    # placement is the transaction, with no savepoint inside an outer one.
    with transaction.atomic() if for_table else nullcontext():
        order, created = order_place(
            lines=lines,
            details=details,
            actor=actor,
            idempotency_key=idempotency_key,
            pickup=pickup,
            specials_allowed=specials_allowed,
            coupon_code=coupon_code,
        )
        tab = tab_round_add(order=order, actor=actor) if created and for_table else None
    order_url = order.get_absolute_url()
    if not created:
        return CheckoutResult(order, CheckoutStep.ALREADY_PLACED, order_url, keep_cart=True)
    if tab is not None:
        tab_url = reverse("orders:tab_bill", kwargs={"tab_id": tab.pk})
        return CheckoutResult(order, CheckoutStep.ON_TAB, tab_url, keep_cart=False)
    try:
        session = payment_start(order=order, return_url=absolute_url(order_url), new_order=True)
    except PaymentsUnavailable as error:
        # Nothing half-made: the order goes, the cart stays for a later try.
        order_cancel(order=order, actor=Actor.system("payments"), reason="payments unavailable at checkout")
        raise PaymentsUnavailable(PAYMENTS_DOWN, data={"cancelled_order": order.number}) from error
    return CheckoutResult(order, CheckoutStep.PAY_ONLINE, session.redirect_url, keep_cart=False)


def _unpaid_orders_check(*, actor: Actor, visitor_order_ids: Sequence[int], idempotency_key: str) -> None:
    """Refuses a new order while the visitor already holds the most unpaid ones allowed.

    Orders past their payment time count no more (the expiry sweep cancels
    them soon), nor do cancelled ones. Staff on the floor take orders for
    many tables and are not held to it, and a checkout sent again (its key
    already made an order) is answered by order_place, not refused here.
    Two checkouts from one visitor at the same instant may both pass; the
    checkout rate limit bounds how far that goes.
    """
    limit = settings.BRIGADE_MAX_UNPAID_ORDERS_PER_GUEST
    if limit <= 0 or can(actor, Capability.WORK_THE_FLOOR):
        return
    mine = Q(pk__in=list(visitor_order_ids))
    if actor.user is not None:
        mine |= Q(customer=actor.user)
    fresh_since = timezone.now() - timedelta(minutes=settings.PAYMENT_TIMEOUT_MINUTES)
    unpaid = list(
        Order.objects.filter(mine, status=OrderStatus.AWAITING_PAYMENT, created_at__gte=fresh_since)
        .order_by("pk")
        .values_list("pk", flat=True)[:limit]
    )
    if len(unpaid) < limit or Order.objects.filter(idempotency_key=idempotency_key).exists():
        return
    numbers = [f"#{pk}" for pk in unpaid]
    raise TooManyUnpaidOrders(
        f"You already have {limit} orders waiting for payment ({', '.join(numbers)}). "
        "Pay for one of them or cancel it before placing another.",
        data={"unpaid_orders": numbers, "limit": limit},
    )


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
