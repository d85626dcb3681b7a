"""Every write to the kitchen goes through here: tickets made, started, bumped, recalled, voided; the 86 list.

Each change takes the next board sequence number and records a
`kitchen.tickets` outbox event carrying the changed tickets, in the same
transaction; the event is published right after commit and broadcast to the
boards. A change of what the menu cannot sell does the same with a
`kitchen.sold_out` event carrying the whole 86 list. The order's own status
follows its tickets through orders.services.order_transition: the first
start puts it in preparation, the last bump makes it ready, a recall takes
it back.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Sequence

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from accounts.permissions import Capability, can
from accounts.roles import Actor
from kitchen.models import BoardClock, ItemRoute, Station, Ticket, TicketStatus
from kitchen.selectors import board_sold_out, ticket_state_of, ticket_states
from orders.models import Order, OrderItem, OrderStatus
from orders.outbox.sequences import clock_next
from orders.outbox.services import outbox_record
from orders.services import order_transition
from orders.state import KITCHEN_STATUSES
from restaurant.errors import ApplicationError, Conflict, Forbidden, NotFound

logger = logging.getLogger(__name__)

BOARD_TOPIC = "kitchen.tickets"
SOLD_OUT_TOPIC = "kitchen.sold_out"

# move -> (the ticket statuses it applies to, the status it leaves the ticket in)
TICKET_MOVES: dict[str, tuple[frozenset[str], str]] = {
    "start": (frozenset({TicketStatus.NEW}), TicketStatus.COOKING),
    # A cook may bump a ticket straight from new: a drink needs no "start".
    "bump": (frozenset({TicketStatus.NEW, TicketStatus.COOKING}), TicketStatus.BUMPED),
    "recall": (frozenset({TicketStatus.BUMPED}), TicketStatus.COOKING),
}


def _announce(*, order: Order, ticket_ids: Sequence[int]) -> None:
    """Tells the boards about changed tickets, after commit, in sequence."""
    _announce_states(order=order, states=ticket_states(ticket_ids))


def _announce_states(*, order: Order, states: list[dict[str, object]]) -> None:
    # The number is taken last: the board's row lock is then held only for the commit.
    outbox_record(order=order, topic=BOARD_TOPIC, payload={"seq": clock_next(BoardClock), "tickets": states})


def _default_station() -> Station:
    station = (
        Station.objects.filter(is_active=True).order_by("-is_default", "sort_order", "id").first()
        or Station.objects.filter(is_default=True).first()
    )
    if station is None:
        # Every station was deleted: cook everything in one, rather than lose a ticket.
        # No default exists here (the query above would have found it), so this one becomes it.
        station, _ = Station.objects.get_or_create(
            slug="kitchen", defaults={"name": "Kitchen", "is_default": True}
        )
    return station


def tickets_create_for_order(
    *, order_id: int, locked: Order | None = None, never_in_kitchen: bool = False
) -> list[Ticket]:
    """Puts a paid order on the board: one ticket per station that cooks part of it.

    Runs in the paying transaction (kitchen.events), so a payment and its
    tickets commit and are published together; a handful of queries, since
    the board waits on them. Idempotent: an order that has tickets gets no
    more, so a retry, or "order paid" published again, makes one set.
    `locked`: the order in hand, current, its row locked by the caller's
    transaction (the paying one updated it), so it is not read again.
    """
    # No savepoint of its own: a caller's transaction (the recorder's savepoint,
    # the publish) undoes it whole, and one round trip fewer keeps the board's wait short.
    with transaction.atomic(savepoint=False):
        order = locked or Order.objects.select_for_update().get(pk=order_id)
        if order.status not in KITCHEN_STATUSES or (not never_in_kitchen and order.tickets.exists()):
            return []
        if order.kitchen_release_at is not None and order.kitchen_release_at > timezone.now():
            # Scheduled for later: tickets_release_due puts it on the board when its time comes.
            return []
        # The floor's line of this change fetched them already, when it came first.
        lines = sorted(order.items.all(), key=lambda line: line.pk)
        routes: dict[int | None, Station] = {
            route.menu_item_id: route.station
            for route in ItemRoute.objects.filter(
                menu_item_id__in=[line.menu_item_id for line in lines if line.menu_item_id],
                station__is_active=True,
            ).select_related("station")
        }
        by_station: dict[int, list[OrderItem]] = defaultdict(list)
        stations: dict[int, Station] = {}
        fallback: Station | None = None
        for line in lines:
            station = routes.get(line.menu_item_id)
            if station is None:
                station = fallback = fallback or _default_station()
            stations[station.pk] = station
            by_station[station.pk].append(line)
        tickets = Ticket.objects.bulk_create(
            [Ticket(order=order, station=stations[station_id]) for station_id in sorted(by_station)]
        )
        Ticket.lines.through.objects.bulk_create(
            [
                Ticket.lines.through(ticket_id=ticket.pk, orderitem_id=line.pk)
                for ticket in tickets
                for line in by_station[ticket.station_id]
            ]
        )
        _announce_states(
            order=order,
            states=[
                ticket_state_of(ticket, order=order, station=stations[at], lines=by_station[at])
                for ticket, at in zip(tickets, sorted(by_station), strict=True)
            ],
        )
    logger.info("tickets created", extra={"order_id": order_id, "tickets": len(tickets)})
    return tickets


def ticket_move(*, ticket_id: int, move: str, actor: Actor, expected_version: int) -> Ticket:
    """Starts, bumps or recalls one ticket, and moves the order along with its tickets.

    Optimistic like order_transition: the ticket changes only at the version
    the cook saw, so a double tap or two tablets pressing at once make one
    change and a Conflict. The order row is locked first, so two stations
    bumping their last tickets at the same moment still make the order ready
    exactly once.
    """
    if not can(actor, Capability.COOK):
        raise Forbidden("Only the kitchen starts, bumps and recalls tickets.", code="not_a_cook")
    if move not in TICKET_MOVES:
        raise ApplicationError("That button is not on the board.", code="invalid_move")
    from_statuses, to_status = TICKET_MOVES[move]
    with transaction.atomic():
        order_id = Ticket.objects.filter(pk=ticket_id).values_list("order_id", flat=True).first()
        if order_id is None:
            raise NotFound("There is no such ticket.", code="ticket_not_found")
        order = Order.objects.select_for_update().get(pk=order_id)
        ticket = Ticket.objects.get(pk=ticket_id)
        if ticket.version != expected_version or ticket.status not in from_statuses:
            raise Conflict(
                "That ticket has moved on already. The board is up to date now.", code="stale_ticket"
            )
        if order.status not in KITCHEN_STATUSES:
            raise Conflict(
                f"Order {order.number} is {order.get_status_display().lower()}; the kitchen is done with it.",
                code="order_left_kitchen",
            )
        now = timezone.now()
        changes: dict[str, object] = {"status": to_status, "version": F("version") + 1}
        if move == "start" or (move == "bump" and ticket.started_at is None):
            changes["started_at"] = now
        changes["bumped_at"] = now if move == "bump" else None
        if not Ticket.objects.filter(pk=ticket.pk, version=expected_version).update(**changes):
            raise Conflict(
                "That ticket has moved on already. The board is up to date now.", code="stale_ticket"
            )
        order = _order_follows_tickets(order=order, actor=actor)
        # The order's other tickets carry its status too, and it may just have changed.
        _announce(order=order, ticket_ids=list(order.tickets.values_list("pk", flat=True)))
    ticket.refresh_from_db()
    logger.info(
        "ticket moved",
        extra={"ticket_id": ticket.pk, "order_id": order.pk, "move": move, "actor": actor.label},
    )
    return ticket


def _order_follows_tickets(*, order: Order, actor: Actor) -> Order:
    statuses = set(order.tickets.exclude(status=TicketStatus.VOID).values_list("status", flat=True))
    all_bumped = statuses == {TicketStatus.BUMPED}
    if order.status in (OrderStatus.PAID, OrderStatus.ON_TAB):
        order = order_transition(order=order, to_status=OrderStatus.IN_PREPARATION, actor=actor)
    if order.status == OrderStatus.IN_PREPARATION and all_bumped:
        order = order_transition(order=order, to_status=OrderStatus.READY, actor=actor)
    elif order.status == OrderStatus.READY and not all_bumped:
        order = order_transition(
            order=order, to_status=OrderStatus.IN_PREPARATION, actor=actor, reason="recalled"
        )
    return order


def tickets_void_for_order(*, order_id: int) -> int:
    """Takes a refunded order's tickets off the board, so nobody cooks food nobody paid for."""
    with transaction.atomic():
        order = Order.objects.select_for_update().get(pk=order_id)
        ticket_ids = list(order.tickets.exclude(status=TicketStatus.VOID).values_list("pk", flat=True))
        if not ticket_ids:
            return 0
        Ticket.objects.filter(pk__in=ticket_ids).update(status=TicketStatus.VOID, version=F("version") + 1)
        _announce(order=order, ticket_ids=ticket_ids)
    logger.info("tickets voided", extra={"order_id": order_id, "tickets": len(ticket_ids)})
    return len(ticket_ids)


def tickets_announce_for_order(*, order_id: int) -> None:
    """Re-sends an order's tickets after the order moved on its own (handed over): boards drop them."""
    with transaction.atomic():
        order = Order.objects.select_for_update().get(pk=order_id)
        ticket_ids = list(order.tickets.values_list("pk", flat=True))
        if ticket_ids:
            _announce(order=order, ticket_ids=ticket_ids)


def tickets_release_due(*, batch_size: int = 200) -> int:
    """Puts scheduled orders whose time has come on the board; returns how many it put there.

    Run by the beat every KITCHEN_RELEASE_SWEEP_SECONDS. What is due is read
    from the orders themselves (paid, release time passed, no tickets yet),
    so a worker or beat that was down catches up on its next run, and an
    order released twice still gets one set of tickets.
    """
    due = list(
        Order.objects.filter(
            status__in=KITCHEN_STATUSES, kitchen_release_at__lte=timezone.now(), tickets__isnull=True
        )
        .order_by("kitchen_release_at", "id")
        .values_list("pk", flat=True)[:batch_size]
    )
    released = sum(1 for order_id in due if tickets_create_for_order(order_id=order_id))
    if released:
        logger.info("scheduled orders released to the kitchen", extra={"orders": released})
    return released


def board_sold_out_announce() -> bool:
    """Sends the boards the 86 list if it differs from the one they were last sent; True if it did.

    Called after a menu or stock change has committed (kitchen.events, a
    listener of menu.changes), never inside it: an order's transaction holds
    ingredient locks, and the list is read from what that change committed.
    Called again by the beat (kitchen.tasks) for a change whose process died
    between its commit and this call. A change that leaves the list as it is
    (a price, a coupon, a stock change crossing nothing the list shows)
    records nothing and sends nothing.

    The board's row is locked before the list is read, unlike a ticket
    change which takes its number last: two announcements then read the
    list in the order they number it, so the higher seq always carries the
    newer list. The lock is held for the list's 4 queries, and only when
    the menu changed.
    """
    with transaction.atomic():
        clock = BoardClock.objects.select_for_update().filter(pk=1).first()
        if clock is None:
            BoardClock.objects.bulk_create([BoardClock(pk=1, seq=0)], ignore_conflicts=True)
            clock = BoardClock.objects.select_for_update().get(pk=1)
        sold_out = board_sold_out()
        if sold_out == clock.sold_out:
            return False
        seq = clock.seq + 1
        BoardClock.objects.filter(pk=1).update(seq=seq, sold_out=sold_out)
        outbox_record(topic=SOLD_OUT_TOPIC, payload={"seq": seq, "sold_out": sold_out})
    logger.info("board 86 list changed", extra={"seq": seq, "sold_out": len(sold_out)})
    return True
