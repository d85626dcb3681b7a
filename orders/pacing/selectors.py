"""Reads for kitchen pacing: opening windows, slots and their load, and the ready time a checkout quotes.

Times are aware datetimes (UTC inside); opening hours are local to
TIME_ZONE and become instants per date, so a change to or from summer time
moves them with the clock (an evening across the autumn change is an hour
longer). Slots are quarter-hours counted from the epoch: every zone's offset
is a whole number of quarter-hours, so they fall on local quarter-hours too.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db.models import Count, Q, Sum
from django.utils import timezone

from orders.models import Order, OrderEvent, OrderEventKind, OrderStatus
from orders.pacing.cache import pacing_config, prep_minutes_kept
from orders.pacing.models import SLOT_MINUTES, KitchenPacing, OpeningHours
from orders.state import FINAL_STATUSES

SLOT = timedelta(minutes=SLOT_MINUTES)
# How many recently finished orders the prep time is the median of, and how
# few are too few to trust (the manager's default applies instead).
RECENT_ORDERS = 20
FEWEST_SAMPLES = 3
# An order "as soon as possible" may land this many slots after its earliest
# ready time when the slots before are full; beyond that the kitchen is full.
ASAP_SLACK_SLOTS = 4
# A checkout offers at most this many later slots (two days of lunch and dinner).
MAX_OFFERED_SLOTS = 96
# How far ahead to look for the next opening when the kitchen is closed.
NEXT_OPENING_DAYS = 8
# Promised times are rounded up to this: "ready around 12:45", never 12:41.
PROMISE_ROUNDING = timedelta(minutes=5)

ASAP: Literal["asap"] = "asap"
# What a checkout asks for: as soon as possible, or a slot by its start.
Pickup = Literal["asap"] | datetime

KITCHEN_FULL = (
    "The kitchen is at capacity right now, so we cannot take orders for as soon as possible. "
    "Please choose a later pickup time."
)
KITCHEN_CLOSED = "The kitchen is closed right now: choose a pickup time in our next opening."
CLOSES_FIRST = (
    "The kitchen closes before a new order could be ready: choose a pickup time in our next opening."
)


@dataclass(frozen=True)
class Window:
    """One opening, as instants: open from `opens` until `closes`."""

    opens: datetime
    closes: datetime

    def holds(self, moment: datetime) -> bool:
        return self.opens <= moment < self.closes


@dataclass(frozen=True)
class SlotOffer:
    starts_at: datetime
    has_room: bool


@dataclass(frozen=True)
class Quote:
    """What checkout can promise now, for an order of `items` items."""

    now: datetime
    rules: KitchenPacing
    prep_minutes: int
    # Paid orders the kitchen is working on (scheduled ones count once released).
    load_orders: int
    load_items: int
    earliest_ready: datetime
    # As soon as possible: the promised ready time and the slot it counts against,
    # or why not (refusal_code "kitchen_full" or "kitchen_closed", and the message).
    asap_ready: datetime | None
    asap_slots: tuple[datetime, ...]
    refusal_code: str
    refusal: str
    # Later slots, in order: those with room are offered, the others are full.
    slots: tuple[SlotOffer, ...] = field(default=())

    def slot(self, starts_at: datetime) -> SlotOffer | None:
        return next((offer for offer in self.slots if offer.starts_at == starts_at), None)

    @property
    def open_slots(self) -> list[SlotOffer]:
        return [offer for offer in self.slots if offer.has_room]

    def release_for(self, starts_at: datetime) -> datetime:
        """When an order for this slot goes to the kitchen: its prep time before the slot."""
        return starts_at - timedelta(minutes=self.prep_minutes)


def pacing_rules() -> KitchenPacing:
    """The location's pacing row; its defaults if a manager has not saved one (kept: orders.pacing.cache)."""
    return pacing_config().rules


def slot_floor(moment: datetime) -> datetime:
    seconds = SLOT_MINUTES * 60
    stamp = math.floor(moment.timestamp() / seconds) * seconds
    return datetime.fromtimestamp(stamp, tz=UTC)


def slot_ceil(moment: datetime) -> datetime:
    floor = slot_floor(moment)
    return floor if floor == moment else floor + SLOT


def round_up_promise(moment: datetime) -> datetime:
    step = PROMISE_ROUNDING.total_seconds()
    return datetime.fromtimestamp(math.ceil(moment.timestamp() / step) * step, tz=UTC)


def _local_instant(day: date, hours: OpeningHours, which: Literal["opens", "closes"]) -> datetime:
    zone = ZoneInfo(settings.TIME_ZONE)
    at = getattr(hours, which)
    if which == "closes" and at <= hours.opens:
        day += timedelta(days=1)
    # A wall time the spring change skips is read with the offset before it (zoneinfo, fold=0).
    return datetime.combine(day, at, tzinfo=zone).astimezone(UTC)


def opening_windows(
    *, start: datetime, end: datetime, hours: Iterable[OpeningHours] | None = None
) -> list[Window]:
    """The openings that overlap [start, end), merged where one runs into the next.

    Of `hours` (a quote passes the kept ones), or as the database has them.
    """
    rows = list(OpeningHours.objects.filter(pacing_id=1) if hours is None else hours)
    if not rows:
        return [Window(slot_floor(start), slot_ceil(end))]
    zone = ZoneInfo(settings.TIME_ZONE)
    first_day = start.astimezone(zone).date() - timedelta(days=1)
    last_day = end.astimezone(zone).date()
    found = []
    day = first_day
    while day <= last_day:
        for row in rows:
            if row.weekday == day.weekday():
                found.append(Window(_local_instant(day, row, "opens"), _local_instant(day, row, "closes")))
        day += timedelta(days=1)
    merged: list[Window] = []
    for window in sorted(found, key=lambda w: w.opens):
        if merged and window.opens <= merged[-1].closes:
            merged[-1] = Window(merged[-1].opens, max(merged[-1].closes, window.closes))
        else:
            merged.append(window)
    return [w for w in merged if w.closes > start and w.opens < end]


def slots_in(windows: Iterable[Window], *, not_before: datetime, until: datetime) -> list[datetime]:
    """Slot starts inside the windows whose whole quarter-hour fits, from not_before until `until`."""
    starts = []
    for window in windows:
        moment = slot_ceil(max(window.opens, not_before))
        while moment + SLOT <= window.closes and moment < until:
            starts.append(moment)
            moment += SLOT
    return starts


def slot_loads(starts: Iterable[datetime]) -> dict[datetime, tuple[int, int]]:
    """Orders and items already booked into each slot (cancelled and refunded ones free theirs).

    One grouped query over the orders and their lines (an outer join, so an
    order counts even without lines; every order has one, order_place refuses
    an empty cart): orders counted distinct, since each line is a row.
    """
    starts = list(starts)
    if not starts:
        return {}
    live = [s for s in OrderStatus.values if s not in FINAL_STATUSES]
    loads = {
        start: (orders, items or 0)
        for start, orders, items in Order.objects.filter(
            status__in=live, slot_starts_at__gte=min(starts), slot_starts_at__lte=max(starts)
        )
        .values("slot_starts_at")
        .annotate(orders_in=Count("id", distinct=True), items_in=Sum("items__quantity"))
        .values_list("slot_starts_at", "orders_in", "items_in")
    }
    return {start: loads.get(start, (0, 0)) for start in starts}


def has_room(rules: KitchenPacing, load: tuple[int, int], items: int) -> bool:
    orders_in, items_in = load
    if orders_in + 1 > rules.orders_per_slot:
        return False
    return rules.items_per_slot is None or items_in + items <= rules.items_per_slot


def recent_prep_minutes(*, default: int) -> int:
    """The median minutes from reaching the kitchen to ready, over the last finished orders.

    Measured at most PACING_PREP_CACHE_SECONDS ago (orders.pacing.cache);
    `default` when too few orders have finished, applied to what is kept so
    a manager's new default shows at once.
    """
    measured = prep_minutes_kept(_prep_minutes_measured)
    return default if measured is None else measured


def _prep_minutes_measured() -> int | None:
    """The median from the audit trail (3 queries); None with too few finished orders.

    The first "ready" of each order, from when it was paid or, scheduled,
    released to the kitchen, whichever came later.
    """
    ready = list(
        OrderEvent.objects.filter(kind=OrderEventKind.STATUS_CHANGED, to_status=OrderStatus.READY)
        .order_by("-id")
        .values_list("order_id", "created_at")[: RECENT_ORDERS * 2]
    )
    ready_at: dict[int, datetime] = {}
    for order_id, at in ready:
        ready_at[order_id] = at  # newest first: the first ready of each order wins
    ids = list(ready_at)[:RECENT_ORDERS]
    # When the kitchen got it: paid, or put on its table's tab (orders.tabs), whichever
    # came first; a round on a tab is paid with the bill, long after it was ready.
    # Newest first, so the earliest of each order is the one the dict keeps.
    paid_at = dict(
        OrderEvent.objects.filter(order_id__in=ids, to_status__in=(OrderStatus.PAID, OrderStatus.ON_TAB))
        .order_by("-id")
        .values_list("order_id", "created_at")
    )
    released = dict(Order.objects.filter(pk__in=ids).values_list("pk", "kitchen_release_at"))
    samples = []
    for order_id in ids:
        if order_id not in paid_at:
            continue
        started = max(paid_at[order_id], released.get(order_id) or paid_at[order_id])
        samples.append(max((ready_at[order_id] - started).total_seconds() / 60, 0.0))
    if len(samples) < FEWEST_SAMPLES:
        return None
    return min(max(math.ceil(statistics.median(samples)), 1), 240)


def kitchen_load(*, now: datetime) -> tuple[int, int]:
    """Orders the kitchen is cooking or has yet to start (paid, or on a table's tab), and their items.

    Scheduled ones count once due. One query, as slot_loads: orders counted
    distinct over their lines.
    """
    cooking = Q(status__in=(OrderStatus.PAID, OrderStatus.ON_TAB, OrderStatus.IN_PREPARATION)) & (
        Q(kitchen_release_at__isnull=True) | Q(kitchen_release_at__lte=now)
    )
    load = Order.objects.filter(cooking).aggregate(
        orders_in=Count("id", distinct=True), items_in=Sum("items__quantity")
    )
    return load["orders_in"], load["items_in"] or 0


def pacing_quote(*, items: int, now: datetime | None = None) -> Quote:
    """The honest ready time for a new order now, and the later slots a customer may pick.

    Earliest ready = now + the recent median prep time + one slot for every
    slot's worth of orders (or items) already in the kitchen. As soon as
    possible is refused above the hard cap, outside opening hours, and when
    the kitchen would close first; later slots stay on offer.
    """
    now = now or timezone.now()
    config = pacing_config()
    rules = config.rules
    prep = recent_prep_minutes(default=rules.default_prep_minutes)
    load_orders, load_items = kitchen_load(now=now)
    queued_slots = load_orders // rules.orders_per_slot
    if rules.items_per_slot:
        queued_slots = max(queued_slots, load_items // rules.items_per_slot)
    earliest = now + timedelta(minutes=prep) + queued_slots * SLOT

    windows = opening_windows(start=now, end=now + timedelta(days=NEXT_OPENING_DAYS), hours=config.hours)
    starts = slots_in(windows, not_before=slot_floor(earliest), until=now + timedelta(days=NEXT_OPENING_DAYS))
    horizon = now + timedelta(days=rules.schedule_days_ahead)
    first_later = next((s for s in starts if s >= earliest), None)
    if first_later is not None:
        # Always at least the rest of the next opening, however few days ahead are allowed.
        horizon = max(horizon, next(w.closes for w in windows if w.holds(first_later)))
    starts = [s for s in starts if s < horizon][: MAX_OFFERED_SLOTS + ASAP_SLACK_SLOTS]
    loads = slot_loads(starts)

    asap_slots: list[datetime] = []
    refusal_code = refusal = ""
    current = next((w for w in windows if w.holds(now)), None)
    if current is None:
        refusal_code, refusal = "kitchen_closed", KITCHEN_CLOSED
    elif load_orders >= rules.hard_cap_orders:
        refusal_code, refusal = "kitchen_full", KITCHEN_FULL
    elif slot_floor(earliest) + SLOT > current.closes:
        refusal_code, refusal = "kitchen_closed", CLOSES_FIRST
    else:
        last = slot_floor(earliest) + ASAP_SLACK_SLOTS * SLOT
        asap_slots = [
            s for s in starts if current.holds(s) and s <= last and has_room(rules, loads[s], items)
        ]
        if not asap_slots:
            refusal_code, refusal = "kitchen_full", KITCHEN_FULL
    asap_ready = round_up_promise(max(earliest, asap_slots[0])) if asap_slots else None

    later = [s for s in starts if s >= earliest][:MAX_OFFERED_SLOTS]
    return Quote(
        now=now,
        rules=rules,
        prep_minutes=prep,
        load_orders=load_orders,
        load_items=load_items,
        earliest_ready=earliest,
        asap_ready=asap_ready,
        asap_slots=tuple(asap_slots),
        refusal_code=refusal_code,
        refusal=refusal,
        slots=tuple(SlotOffer(s, has_room(rules, loads[s], items)) for s in later),
    )
