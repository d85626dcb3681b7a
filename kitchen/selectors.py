"""What the kitchen board shows, as plain data: the same shape on the page, in the snapshot and in events.

A board message is one of three types, each with `seq` (kitchen.models.BoardClock):
  board.snapshot  {seq, now, stations: [station], tickets: [ticket], sold_out: [entry]}   the whole board
  board.tickets   {seq, tickets: [ticket]}                             tickets that changed
  board.sold_out  {seq, sold_out: [entry]}                             the whole 86 list, when it changed
A ticket in board.tickets replaces the one with its id; a board holds every
ticket of every order still in the kitchen or at the pass (open, and bumped
while the order can be recalled or handed over): a station shows its open
tickets and its recently bumped ones, expo one card per order. An 86 entry is
{name, why}: what the menu cannot sell now, and whether a manager 86ed it
or the pantry ran out (menu.pantry.selectors.menu_sold_out).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from django.db.models import QuerySet
from django.utils import timezone

from kitchen.models import OPEN_TICKET_STATUSES, BoardClock, Station, Ticket, TicketStatus
from menu.pantry.selectors import menu_sold_out
from orders.handover import HandOver, hand_over_way
from orders.models import Order, OrderStatus
from orders.state import KITCHEN_STATUSES

if TYPE_CHECKING:
    from orders.models import OrderItem

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
        # The order's version, which the expo's hand-over sends back (orders.handover).
        "order_version": order.version,
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
    """Every ticket of the orders in the kitchen or at the pass, oldest first.

    Open ones, and bumped ones while their order is still here: a station
    recalls them, and expo shows an order's every station and hands a ready
    order over. The same set a board keeps from events (kitchen-board.js),
    so a snapshot and the events after it add up to a fresh snapshot.
    """
    return list(
        _with_details(
            Ticket.objects.filter(
                status__in=(*OPEN_TICKET_STATUSES, TicketStatus.BUMPED),
                order__status__in=KITCHEN_STATUSES,
                station__is_active=True,
            )
        ).order_by("created_at", "id")
    )


def recall_strip(tickets: Iterable[Ticket]) -> list[Ticket]:
    """The most recently bumped of these tickets, newest first: a station's "recently bumped" strip."""
    bumped = [t for t in tickets if t.status == TicketStatus.BUMPED and t.bumped_at is not None]
    return sorted(bumped, key=lambda t: (t.bumped_at, t.pk), reverse=True)[:RECALL_STRIP_LENGTH]


@dataclass
class ExpoCard:
    """One order on the expo: its tickets at every station, ready when each one is bumped."""

    order: Order
    tickets: list[Ticket]

    @property
    def is_ready(self) -> bool:
        return self.order.status == OrderStatus.READY

    @property
    def created_at(self) -> datetime:
        return min(t.created_at for t in self.tickets)

    @property
    def hand_over(self) -> HandOver:
        return hand_over_way(self.order)

    @property
    def progress(self) -> str:
        """The card's line under its number; kitchen-board.js words it alike."""
        if self.is_ready:
            return "Ready: hand over"
        done = sum(1 for t in self.tickets if t.status == TicketStatus.BUMPED)
        return f"{done} of {len(self.tickets)} stations done"


def expo_cards(tickets: Iterable[Ticket]) -> list[ExpoCard]:
    """The board's tickets grouped by order, the order that reached the kitchen first first."""
    by_order: dict[int, ExpoCard] = {}
    for ticket in tickets:
        card = by_order.setdefault(ticket.order_id, ExpoCard(order=ticket.order, tickets=[]))
        card.tickets.append(ticket)
    for card in by_order.values():
        card.tickets.sort(key=lambda t: (t.station.sort_order, t.station.name, t.pk))
    return sorted(by_order.values(), key=lambda card: (card.created_at, card.order.pk))


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


def all_day_name(name: str, modifiers: str) -> str:
    """What the all-day bar counts: an item with its modifiers ("Classic Burger · medium"), as the JS."""
    return f"{name} · {modifiers}" if modifiers else name


def all_day_counts(tickets: Iterable[Ticket]) -> list[tuple[str, int]]:
    """How many of each item, by its modifiers, the open tickets still need, most first ("all day")."""
    counts: Counter[str] = Counter()
    for ticket in tickets:
        if ticket.status in OPEN_TICKET_STATUSES:
            for line in ticket.lines.all():
                counts[all_day_name(line.name, line.modifier_text())] += line.quantity
    return sorted(counts.items(), key=lambda item: (-item[1], item[0]))
