"""Booking an order into a pickup slot: the one write of kitchen pacing, inside the order's transaction."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from orders.pacing.models import KitchenPacing, PacingSlot
from orders.pacing.selectors import (
    ASAP,
    KITCHEN_FULL,
    Pickup,
    Quote,
    has_room,
    pacing_quote,
    round_up_promise,
    slot_loads,
)
from restaurant.errors import ApplicationError, Conflict

SLOT_UNAVAILABLE = "That pickup time is not available. Please choose one from the list."
SLOT_FULL = "That pickup time has just filled up. Please choose another one."


@dataclass(frozen=True)
class Booking:
    slot_starts_at: datetime
    promised_at: datetime
    # Empty for as soon as possible: the kitchen gets the order when it is paid.
    kitchen_release_at: datetime | None


class KitchenRefused(Conflict):
    """No order for as soon as possible now (full or closed); a later slot may still be picked."""


def _slot_lock_has_room(*, starts_at: datetime, items: int, rules: KitchenPacing) -> bool:
    """Takes the slot's row lock, then counts what it holds.

    The lock is an UPDATE, not a SELECT … FOR UPDATE: on PostgreSQL it holds
    the row until the order commits, and on SQLite it takes the write lock at
    once, so on both a second checkout for the slot counts only after the
    first one's order is committed and visible.
    """
    now = timezone.now()
    if not PacingSlot.objects.filter(starts_at=starts_at).update(last_booked_at=now):
        PacingSlot.objects.bulk_create([PacingSlot(starts_at=starts_at)], ignore_conflicts=True)
        PacingSlot.objects.filter(starts_at=starts_at).update(last_booked_at=now)
    return has_room(rules, slot_loads([starts_at])[starts_at], items)


def slot_book(*, pickup: Pickup, items: int, quote: Quote | None = None) -> Booking:
    """Books a new order of `items` items into a slot; the caller creates the order in this transaction.

    As soon as possible takes the first slot with room from the quote's
    earliest ready time on (KitchenRefused when the kitchen is full or
    closed). A picked slot must be one the quote offers: a past, closed,
    misaligned or too distant time is refused (400), a full one is a
    Conflict (409). It raises before writing anything, or after only
    taking slots' row locks in the caller's transaction, which then makes
    no order and is rolled back.
    """
    quote = quote or pacing_quote(items=items)
    # No savepoint of its own (the caller's transaction holds the order it books),
    # and the refusal is raised outside the block, so that transaction stays usable.
    with transaction.atomic(savepoint=False):
        booking = _slot_take(pickup=pickup, items=items, quote=quote)
    if isinstance(booking, ApplicationError):
        raise booking
    return booking


def _slot_take(*, pickup: Pickup, items: int, quote: Quote) -> Booking | ApplicationError:
    if pickup == ASAP:
        if quote.refusal_code:
            return KitchenRefused(quote.refusal, code=quote.refusal_code)
        # Earliest first, so two checkouts lock slots in the same order and never deadlock;
        # a slot another checkout filled meanwhile stays locked (harmlessly) until commit.
        for starts_at in quote.asap_slots:
            if _slot_lock_has_room(starts_at=starts_at, items=items, rules=quote.rules):
                return Booking(starts_at, max(round_up_promise(quote.earliest_ready), starts_at), None)
        return KitchenRefused(KITCHEN_FULL, code="kitchen_full")
    offer = quote.slot(pickup) if isinstance(pickup, datetime) else None
    if offer is None:
        return ApplicationError(SLOT_UNAVAILABLE, code="slot_unavailable")
    room = offer.has_room and _slot_lock_has_room(starts_at=offer.starts_at, items=items, rules=quote.rules)
    if not room:
        return Conflict(SLOT_FULL, code="slot_full")
    return Booking(offer.starts_at, offer.starts_at, quote.release_for(offer.starts_at))
