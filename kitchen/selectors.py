"""What the kitchen board shows, as plain data: the same shape on the page, in the snapshot and in events.

A board message is one of three types, each with `seq` (kitchen.models.BoardClock):
  board.snapshot  {seq, now, stations: [station], tickets: [ticket], sold_out: [entry]}   the whole board
  board.tickets   {seq, tickets: [ticket]}                             tickets that changed
  board.sold_out  {seq, sold_out: [entry]}                             the whole 86 list, when it changed
A ticket in board.tickets replaces the one with its id; a board shows open
tickets, and bumped ones while they can still be recalled. An 86 entry is
{name, why}: what the menu cannot sell now, and whether a manager 86ed it
or the pantry ran out (menu.pantry.selectors.menu_sold_out).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from django.db.models import QuerySet
from django.utils import timezone

from kitchen.models import OPEN_TICKET_STATUSES, BoardClock, Station, Ticket, TicketStatus
from menu.pantry.selectors import menu_sold_out
from orders.state import RECALLABLE_STATUSES

if TYPE_CHECKING:
    from orders.models import Order, OrderItem

# How many bumped tickets the board keeps in its "recall" strip.
RECALL_STRIP_LENGTH = 12


def board_seq() -> int:
    return BoardClock.objects.filter(pk=1).values_list("seq", flat=True).first() or 0


def board_stations() -> QuerySet[Station]:
    return Station.objects.filter(is_active=True)


def station_state(station: Station) -> dict[str, Any]:
    return {
        "slug": station.slug,
        "name": station.name,
        "warn_after_seconds": station.warn_after_minutes * 60,
        "late_after_seconds": station.late_after_minutes * 60,
    }


def _with_details(tickets: QuerySet[Ticket]) -> QuerySet[Ticket]:
    return tickets.select_related("order", "station").prefetch_related("lines")


def ticket_state(ticket: Ticket) -> dict[str, Any]:
    return ticket_state_of(ticket, order=ticket.order, station=ticket.station, lines=ticket.lines.all())


def ticket_state_of(
    ticket: Ticket, *, order: Order, station: Station, lines: Iterable[OrderItem]
) -> dict[str, Any]:
    """A ticket as the board shows it, from rows already in hand (a new ticket needs no query)."""
    return {
        "id": ticket.pk,
        "version": ticket.version,
        "status": ticket.status,
        "station": station.slug,
        "station_name": station.name,
        "order_id": order.pk,
        "order_number": order.number,
        "order_status": order.status,
        "order_type": order.order_type,
        "where": order.where(),
        "instructions": order.special_instructions,
        "promised": order.promise_text(),
        "lines": [
            {
                "name": line.name,
                "quantity": line.quantity,
                "modifiers": line.modifier_text(),
                "note": line.note,
            }
            for line in lines
        ],
        "created_at": ticket.created_at.isoformat(),
        "started_at": ticket.started_at.isoformat() if ticket.started_at else None,
        "bumped_at": ticket.bumped_at.isoformat() if ticket.bumped_at else None,
    }


def ticket_states(ticket_ids: Iterable[int]) -> list[dict[str, Any]]:
    return [ticket_state(t) for t in _with_details(Ticket.objects.filter(pk__in=list(ticket_ids)))]


def board_sold_out() -> list[dict[str, str]]:
    """The board's 86 list as plain data, in the menu's order (4 queries)."""
    return [{"name": entry.name, "why": entry.why} for entry in menu_sold_out()]


def board_tickets() -> list[Ticket]:
    """Open tickets, oldest first, then the most recently bumped that can still be recalled."""
    open_tickets = _with_details(
        Ticket.objects.filter(status__in=OPEN_TICKET_STATUSES, station__is_active=True)
    ).order_by("created_at", "id")
    recallable = _with_details(
        Ticket.objects.filter(
            status=TicketStatus.BUMPED,
            order__status__in=RECALLABLE_STATUSES,
            station__is_active=True,
        )
    ).order_by("-bumped_at", "-id")[:RECALL_STRIP_LENGTH]
    return [*open_tickets, *recallable]


def board_snapshot() -> dict[str, Any]:
    # The sequence is read before the tickets and the 86 list: a change
    # committed in between then shows in them and arrives again as an event,
    # which the board applies harmlessly. Read the other way round, it could be missed.
    seq = board_seq()
    return {
        "type": "board.snapshot",
        "seq": seq,
        "now": timezone.now().isoformat(),
        "stations": [station_state(s) for s in board_stations()],
        "tickets": [ticket_state(t) for t in board_tickets()],
        "sold_out": board_sold_out(),
    }


def all_day_counts(tickets: Iterable[Ticket]) -> list[tuple[str, int]]:
    """How many of each item the open tickets still need, most first ("all day" on the line)."""
    counts: Counter[str] = Counter()
    for ticket in tickets:
        if ticket.status in OPEN_TICKET_STATUSES:
            for line in ticket.lines.all():
                counts[line.name] += line.quantity
    return sorted(counts.items(), key=lambda item: (-item[1], item[0]))
