"""Reading the floor: which tables are in service, which one a link or a session names, and the live floor."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from django.db.models import Q, QuerySet
from django.utils import timezone

from menu.money import format_money
from orders.floor.links import SessionTable, TableLink
from orders.floor.models import FloorClock, Table
from orders.models import Order, OrderStatus, OrderType
from orders.selectors import FLOOR_LIMIT, floor_open_orders
from orders.tabs.selectors import TabSummary, table_open_tabs


def tables_in_service(*, area: str | None = None) -> QuerySet[Table]:
    """In service, in the order the floor reads them (area, sort order, label); one area if given."""
    tables = Table.objects.in_service().in_floor_order()
    return tables if area is None else tables.filter(area=area)


def table_areas() -> list[str]:
    """The areas that have a table in service, "" (no area) included if any table has none."""
    return sorted(set(Table.objects.in_service().values_list("area", flat=True)))


def table_in_service(*, label: str) -> Table | None:
    """The table in service a waiter (or an order's details) names; case and outer spaces do not matter."""
    label = label.strip()
    if not label:
        return None
    return Table.objects.in_service().filter(label__iexact=label).first()


def table_for_link(*, link: TableLink | SessionTable) -> Table | None:
    """The table a QR link (or the session it left) names, if it is in service and that is still its code."""
    return Table.objects.in_service().filter(pk=link.table_id, link_version=link.link_version).first()


# ---------------------------------------------------------------- the live floor
#
# A floor message is one of two types, each with `seq` (orders.floor.models.FloorClock):
#   floor.snapshot  {seq, now, limit, tables: [table], orders: [order]}   the whole floor
#   floor.orders    {seq, orders: [order]}                                orders that changed
# An order in floor.orders replaces the one with its id; one that is no longer
# open (handed over, cancelled, refunded) leaves the floor. An order whose
# table is in the snapshot's tables sits at that table; every other one
# (pickups, deliveries, a table since retired) waits at the pass.


@dataclass(frozen=True)
class FloorTable:
    """One table on the floor grid and what is open at it (the one place a table's tab joins)."""

    table: Table
    orders: list[Order]
    # Its open tab (orders.tabs), if a waiter's rounds are running one.
    tab: TabSummary | None = None

    @property
    def has_ready(self) -> bool:
        return any(order.status == OrderStatus.READY for order in self.orders)


@dataclass(frozen=True)
class Floor:
    tables: list[FloorTable]
    # Pickups and deliveries (and orders of tables no longer in service), in the floor's order.
    at_the_pass: list[Order]
    # Open orders left out to keep the page bounded (a flood of unpaid ones).
    not_shown: int


def _at_a_table_in_service() -> Q:
    return Q(order_type=OrderType.DINE_IN, table__isnull=False, table__retired_at__isnull=True)


def floor_seq() -> int:
    return FloorClock.objects.filter(pk=1).values_list("seq", flat=True).first() or 0


def floor_tables() -> list[FloorTable]:
    """Every table in service, in the floor's order, each with its open orders (its rounds).

    The one place the grid reads a table from. A table's orders come in
    floor_open_orders' order, at most FLOOR_LIMIT in all.
    """
    at_tables = floor_open_orders().filter(_at_a_table_in_service())[:FLOOR_LIMIT]
    by_table: dict[int, list[Order]] = defaultdict(list)
    for order in at_tables:
        by_table[order.table_id].append(order)  # type: ignore[index]  # at a table: table_id is set
    tabs = table_open_tabs()
    return [
        FloorTable(table=table, orders=by_table.get(table.pk, []), tab=tabs.get(table.pk))
        for table in tables_in_service()
    ]


def floor_state() -> Floor:
    """The tables with their open orders, and the orders waiting at the pass.

    At most FLOOR_LIMIT orders in all, tables' first, the pass in
    floor_open_orders' order: a flood of unpaid orders never pushes a paid
    one or a table's off the floor, nor makes the page endless.
    """
    tables = floor_tables()
    room = FLOOR_LIMIT - sum(len(table.orders) for table in tables)
    waiting = floor_open_orders().exclude(_at_a_table_in_service())
    at_the_pass = list(waiting[:room]) if room > 0 else []
    not_shown = waiting.count() - len(at_the_pass) if len(at_the_pass) == room else 0
    return Floor(tables=tables, at_the_pass=at_the_pass, not_shown=not_shown)


def floor_order_state(order: Order) -> dict[str, Any]:
    """An order as the floor shows it (items and placed_by prefetched), the same on the page and the wire."""
    return {
        "id": order.pk,
        "version": order.version,
        "number": order.number,
        "status": order.status,
        "status_label": order.get_status_display(),
        "order_type": order.order_type,
        # The label of its button at the pass (Served, Picked up, Out for delivery).
        "hand_over": order.hand_over_label(),
        "table_id": order.table_id,
        "where": order.where(),
        "total": format_money(order.total_minor, order.currency),
        "taken_by": (order.placed_by.first_name or order.placed_by.email) if order.placed_by else "",
        "instructions": order.special_instructions,
        "promised": order.promise_text(),
        "lines": [
            {"name": line.name, "quantity": line.quantity, "modifiers": line.modifier_text()}
            for line in order.items.all()
        ],
        "url": order.get_absolute_url(),
        "placed_at": order.created_at.isoformat(),
        # When it took its present status (updated_at moves with every transition): "ready for 3 min".
        "status_at": order.updated_at.isoformat(),
    }


def floor_table_state(table: Table, tab: TabSummary | None = None) -> dict[str, Any]:
    return {
        "id": table.pk,
        "label": table.label,
        "area": table.area,
        "seats": table.seats,
        "tab": None
        if tab is None
        else {"url": tab.url, "total": format_money(tab.total_minor, tab.currency)},
    }


def floor_snapshot() -> dict[str, Any]:
    # The sequence is read first, as the board's: a change committed meanwhile
    # shows in the state and arrives again as an event, applied harmlessly.
    seq = floor_seq()
    floor = floor_state()
    orders = [order for table in floor.tables for order in table.orders] + floor.at_the_pass
    return {
        "type": "floor.snapshot",
        "seq": seq,
        "now": timezone.now().isoformat(),
        "limit": FLOOR_LIMIT,
        "tables": [floor_table_state(table.table, table.tab) for table in floor.tables],
        "orders": [floor_order_state(order) for order in orders],
    }
