"""Every write to an order goes through here."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from accounts.permissions import Capability, can
from accounts.roles import Actor
from accounts.security_events import security_event
from menu.pantry.selectors import Portion
from menu.pantry.services import stock_release, stock_reserve, stock_use, stock_waste_cooked
from orders import state
from orders.coupons.services import CouponUse, coupon_claim
from orders.floor.models import Table, table_not_in_service_message
from orders.floor.selectors import table_in_service
from orders.models import (
    SPECIAL_INSTRUCTIONS_MAX_LENGTH,
    Order,
    OrderEvent,
    OrderItem,
    OrderStatus,
    OrderType,
)
from orders.outbox.services import outbox_record
from orders.pacing.selectors import Pickup, pacing_quote
from orders.pacing.services import Booking, slot_book
from orders.pricing import CartLine, price_lines
from restaurant.errors import ApplicationError, Conflict, Forbidden

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class OrderDetails:
    order_type: str
    contact_name: str
    contact_email: str
    contact_phone: str = ""
    table_number: str = ""
    delivery_address: str = ""
    special_instructions: str = ""

    @classmethod
    def from_data(cls, data: Mapping[str, Any]) -> OrderDetails:
        """From a door's cleaned input (the checkout form, the API), which names the fields alike."""
        return cls(**{field.name: data[field.name] for field in fields(cls)})


def _check_details(details: OrderDetails) -> None:
    if details.order_type not in OrderType.values:
        raise ApplicationError("Choose dine in, pickup or delivery.", code="invalid_order_type")
    if details.order_type == OrderType.DINE_IN and not details.table_number.strip():
        raise ApplicationError("Dine-in orders need a table number.", code="table_required")
    if details.order_type == OrderType.DELIVERY and not details.delivery_address.strip():
        raise ApplicationError("Delivery orders need an address.", code="address_required")
    if not details.contact_name.strip() or not details.contact_email.strip():
        raise ApplicationError("Name and email are required.", code="contact_required")
    if len(details.special_instructions) > SPECIAL_INSTRUCTIONS_MAX_LENGTH:
        raise ApplicationError(
            f"Special instructions are limited to {SPECIAL_INSTRUCTIONS_MAX_LENGTH} characters.",
            code="instructions_too_long",
        )


class TableNotInService(ApplicationError):
    default_code = "table_not_in_service"


def _dine_in_table(details: OrderDetails) -> Table | None:
    """The table in service a dine-in order names; other orders name none."""
    if details.order_type != OrderType.DINE_IN:
        return None
    table = table_in_service(label=details.table_number)
    if table is None:
        raise TableNotInService(table_not_in_service_message(details.table_number))
    return table


def _existing_for_key(idempotency_key: str, actor: Actor) -> Order | None:
    order = Order.objects.filter(idempotency_key=idempotency_key).first()
    if order is None:
        return None
    owner_id = actor.user.pk if actor.user else None
    if actor.partner_id is not None:
        mine = order.partner_id == actor.partner_id
    else:
        mine = order.partner_id is None and owner_id in (order.customer_id, order.placed_by_id)
    if not mine:
        # A key is only ever handed to one session; a stranger holding it
        # must not learn which order it made.
        raise Conflict("This checkout was already used. Please start again.", code="key_reused")
    return order


def taken_for_a_table(*, details: OrderDetails, actor: Actor) -> bool:
    """Whether this order is staff's for a table's guests (placed_by, not customer; a round on its tab)."""
    return details.order_type == OrderType.DINE_IN and can(actor, Capability.WORK_THE_FLOOR)


def order_place(
    *,
    lines: Sequence[CartLine],
    details: OrderDetails,
    actor: Actor,
    idempotency_key: str | None = None,
    pickup: Pickup | None = None,
    specials_allowed: bool = False,
    coupon_code: str = "",
) -> tuple[Order, bool]:
    """Prices the lines from the menu and records the order, awaiting payment.

    Returns (order, created). Sending the same idempotency key again returns
    the order the first call made instead of a second one. With `pickup`
    (checkout: as soon as possible or a slot) the order is booked into a
    kitchen slot in the same transaction (orders.pacing.services.slot_book)
    and carries its promised time; a table's order taken by staff is not paced.
    A dine-in order names a table in service by its label, whatever its case
    (TableNotInService, 400); the order points at the table and keeps its label.
    VIP specials are priced only with `specials_allowed` (the flag on for this
    request): a special put in the cart while the flag was on is refused once
    it is off. What the lines' recipes take is reserved from the pantry as the
    transaction's last write (menu.pantry.services.stock_reserve, which locks
    the ingredient rows until the commit); an order the stock cannot cover is
    refused with OutOfStock (409) naming what ran out, and nothing is made.
    A `coupon_code` is checked and its use counted in the same
    transaction (orders.coupons.services.coupon_claim; CouponRefused, 400,
    one message for every reason) and its discount recorded on the order.
    """
    if idempotency_key and (existing := _existing_for_key(idempotency_key, actor)):
        return existing, False
    _check_details(details)
    if not lines:
        raise ApplicationError("Your cart is empty.", code="empty_cart")
    # Read, not locked: a table retired or renamed at this very moment takes one more
    # order under the label read here, which is as true a history as any.
    table = _dine_in_table(details)

    # Staff ordering for a table act for the table's guests, not for themselves.
    for_table = taken_for_a_table(details=details, actor=actor)
    paced = pickup is not None and not for_table
    # Read before the transaction: the quote is many reads, and only the slot's count must be under its lock.
    quote = pacing_quote(items=sum(line.quantity for line in lines)) if paced else None
    try:
        with transaction.atomic():
            priced = price_lines(lines, specials_allowed=specials_allowed)
            subtotal = sum(line.line_total_minor for line in priced)
            booking: Booking | None = None
            if paced and pickup is not None:
                booking = slot_book(pickup=pickup, items=sum(line.quantity for line in priced), quote=quote)
            coupon: CouponUse | None = None
            if coupon_code:
                coupon = coupon_claim(
                    code=coupon_code,
                    subtotal_minor=subtotal,
                    customer_id=None if for_table or actor.user is None else actor.user.pk,
                    contact_email=details.contact_email,
                    now=timezone.now(),
                )
            order = Order.objects.create(
                customer=None if for_table else actor.user,
                placed_by=actor.user if for_table else None,
                partner_id=actor.partner_id,
                order_type=details.order_type,
                table=table,
                table_number=table.label if table else "",
                delivery_address=details.delivery_address.strip()
                if details.order_type == OrderType.DELIVERY
                else "",
                contact_name=details.contact_name.strip(),
                contact_email=details.contact_email.strip(),
                contact_phone=details.contact_phone.strip(),
                special_instructions=details.special_instructions.strip(),
                currency=settings.BRIGADE_CURRENCY,
                subtotal_minor=subtotal,
                total_minor=subtotal - (coupon.discount_minor if coupon else 0),
                idempotency_key=idempotency_key or None,
                slot_starts_at=booking.slot_starts_at if booking else None,
                promised_at=booking.promised_at if booking else None,
                kitchen_release_at=booking.kitchen_release_at if booking else None,
                **(coupon.order_fields() if coupon else {}),
            )
            OrderItem.objects.bulk_create(
                OrderItem(
                    order=order,
                    menu_item_id=line.item.pk,
                    name=line.item.name,
                    base_price_minor=line.base_price_minor,
                    unit_price_minor=line.unit_price_minor,
                    quantity=line.quantity,
                    line_total_minor=line.line_total_minor,
                    modifiers=line.modifiers,
                    note=line.note,
                )
                for line in priced
            )
            _record_event(order=order, from_status="", to_status=order.status, actor=actor, reason="placed")
            stock_reserve(
                order_id=order.pk,
                portions=[
                    Portion(
                        item_id=line.item.pk,
                        quantity=line.quantity,
                        option_ids=tuple(int(str(m["option_id"])) for m in line.modifiers),
                        name=line.item.name,
                    )
                    for line in priced
                ],
                actor=actor,
            )
            # After the pantry's rows, as in order_transition: the live floor numbers it here.
            outbox_record(
                order=order,
                topic=f"order.{order.status}",
                payload={"from": "", "actor": actor.label, "seq": order.version},
            )
    except IntegrityError:
        # Two submissions of one checkout raced; the other one's order stands.
        if idempotency_key and (existing := _existing_for_key(idempotency_key, actor)):
            return existing, False
        raise
    logger.info(
        "order placed",
        extra={"order_id": order.pk, "total_minor": order.total_minor, "actor": actor.label},
    )
    return order, True


def _record_event(
    *,
    order: Order,
    from_status: str,
    to_status: str,
    actor: Actor,
    reason: str,
    data: Mapping[str, Any] | None = None,
) -> None:
    OrderEvent.objects.create(
        order=order,
        from_status=from_status,
        to_status=to_status,
        actor=actor.user,
        actor_label=actor.label[:150],
        reason=reason[:500],
        data=dict(data or {}),
    )


def _check_may_transition(order: Order, to_status: str, actor: Actor) -> None:
    if not state.is_allowed(order.status, to_status):
        raise Conflict(
            f"An order that is {order.get_status_display().lower()} cannot become "
            f"{OrderStatus(to_status).label.lower()}.",
            code="illegal_transition",
            data={"from": order.status, "to": to_status},
        )
    granted = state.granting_capabilities(actor, order.status, to_status)
    if not granted:
        raise Forbidden("You are not allowed to make that change.", code="transition_not_permitted")
    # A guest proved ownership by holding the order's link; a signed-in
    # customer must own the order.
    if granted <= state.OWN_ORDERS_ONLY and actor.user is not None and order.customer_id != actor.user.pk:
        raise Forbidden("You are not allowed to make that change.", code="not_your_order")


def order_transition(
    *,
    order: Order,
    to_status: str,
    actor: Actor,
    reason: str = "",
    expected_version: int | None = None,
    data: Mapping[str, Any] | None = None,
) -> Order:
    """Moves the order to `to_status` if the state machine and the actor allow it.

    Optimistic: the UPDATE only matches the status and version the caller saw,
    so of two simultaneous changes exactly one wins and the other gets a
    Conflict; no lock is held while a person decides. The order's stock
    follows in the same transaction (_stock_follows). `data` goes on the
    audit row (how a ready order was handed over: orders.handover).
    """
    _check_may_transition(order, to_status, actor)
    version = order.version if expected_version is None else expected_version
    from_status = order.status
    # A copy older than the version the caller saw is read again once the change is made.
    stale_copy = version != order.version
    # No savepoint of its own: called inside a caller's transaction (a payment,
    # a bump) it is undone with it, and the kitchen waits on that commit. The
    # conflict is raised outside the block, so it leaves the caller's
    # transaction usable.
    with transaction.atomic(savepoint=False):
        now = timezone.now()
        updated = Order.objects.filter(pk=order.pk, status=from_status, version=version).update(
            status=to_status, version=F("version") + 1, updated_at=now
        )
        if updated == 1:
            _transition_follows(
                order=order,
                from_status=from_status,
                to_status=to_status,
                version=version,
                now=now,
                actor=actor,
                reason=reason,
                data=data,
            )
    if updated != 1:
        raise Conflict(
            "Someone else changed this order just now. Reload it and try again.",
            code="stale_order",
        )
    if stale_copy:
        order.refresh_from_db()
    if to_status == OrderStatus.REFUNDED:
        security_event("order refunded", order_id=order.pk, actor=actor.label, total_minor=order.total_minor)
    logger.info(
        "order status changed",
        extra={"order_id": order.pk, "from": from_status, "to": to_status, "actor": actor.label},
    )
    return order


def _transition_follows(
    *,
    order: Order,
    from_status: str,
    to_status: str,
    version: int,
    now: datetime,
    actor: Actor,
    reason: str,
    data: Mapping[str, Any] | None,
) -> None:
    """What a status change writes with it: the audit row, the pantry, the event and its recorders."""
    # The copy in hand is the row as it is now: the event's recorders (the
    # floor's line, the kitchen's tickets) use it rather than read it again.
    order.status, order.version, order.updated_at = to_status, version + 1, now
    _record_event(
        order=order, from_status=from_status, to_status=to_status, actor=actor, reason=reason, data=data
    )
    # The pantry before the event: the event's recorders take the live
    # floor's and the kitchen's sequence rows, and every transaction takes
    # ingredient rows before those, so two of them never wait on each other.
    _stock_follows(order_id=order.pk, from_status=from_status, to_status=to_status, actor=actor)
    outbox_record(
        order=order,
        topic=f"order.{to_status}",
        # seq: the version this change produced, for live clients to spot a gap.
        payload={"from": from_status, "actor": actor.label, "seq": version + 1},
    )


def _stock_follows(*, order_id: int, from_status: str, to_status: str, actor: Actor) -> None:
    """What the pantry does when an order moves: every path through order_transition, so none is missed.

    Cooking starts (the first start; a recall finds nothing left to use): the
    reservation becomes use. The order ends before cooking (cancelled,
    expired, refunded while paid): it is released. Refunded after cooking:
    nothing goes back, the use is recorded as waste.
    """
    if to_status == OrderStatus.IN_PREPARATION:
        stock_use(order_id=order_id, actor=actor)
    elif to_status in state.FINAL_STATUSES and from_status in state.UNCOOKED_STATUSES:
        stock_release(order_id=order_id, actor=actor, reason=f"order {to_status}")
    elif to_status == OrderStatus.REFUNDED:
        stock_waste_cooked(order_id=order_id, actor=actor, reason=f"order refunded after {from_status}")


def cancel_reason(*, actor: Actor, reason: str) -> str:
    """The reason a cancel is recorded with: staff must give one, a customer need not."""
    reason = reason.strip()
    if actor.is_staff_member and not reason:
        raise ApplicationError("Say why the order is cancelled.", code="reason_required")
    return reason


def order_cancel(*, order: Order, actor: Actor, reason: str, expected_version: int | None = None) -> Order:
    """Calls off an order no money was taken for. Doors call orders.checkout.order_cancel_by,
    which sends a paid order to its refund instead."""
    return order_transition(
        order=order,
        to_status=OrderStatus.CANCELLED,
        actor=actor,
        reason=cancel_reason(actor=actor, reason=reason) or "cancelled by customer",
        expected_version=expected_version,
    )


# The audit trail's words for money staff took in person, at the table or at the till.
PAID_IN_PERSON = "payment taken in person"


def order_mark_paid(*, order: Order, actor: Actor, expected_version: int | None = None) -> Order:
    """Staff took the money in person (the floor page at the table, the admin's till action).

    A round on a table's tab is paid with its whole tab (orders.tabs.services.tab_settle),
    never on its own: the bill would count it again.
    """
    if order.status == OrderStatus.ON_TAB:
        raise Conflict(
            "This order is a round on its table's tab: take payment for the whole tab.", code="on_tab"
        )
    return order_transition(
        order=order,
        to_status=OrderStatus.PAID,
        actor=actor,
        reason=PAID_IN_PERSON,
        expected_version=expected_version,
    )
