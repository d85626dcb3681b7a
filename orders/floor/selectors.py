"""Reading the floor: which tables are in service, and which one a link or a session names."""

from __future__ import annotations

from django.db.models import QuerySet

from orders.floor.links import SessionTable, TableLink
from orders.floor.models import Table


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
