"""Reading tabs: the floor's open tabs by table, and one tab's bill."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db.models import Prefetch
from django.urls import reverse

from orders.models import Order, OrderItem
from orders.state import FINAL_STATUSES
from orders.tabs.models import Tab, TabRound, TabStatus


@dataclass(frozen=True)
class RoundSummary:
    number: int
    order_id: int
    order_number: str
    # The round's order's status, and its version (what an action on it must name).
    status: str
    status_label: str
    version: int
    total_minor: int
    # Cancelled or refunded rounds stay on the bill, struck out, and count for nothing.
    counts: bool
    # A coupon took something off: its lines add up to more than it asks.
    discounted: bool
    lines: tuple[OrderItem, ...]
    created_at: datetime


@dataclass(frozen=True)
class TabSummary:
    tab_id: int
    number: str
    table_id: int
    table_label: str
    status: str
    version: int
    currency: str
    total_minor: int
    opened_at: datetime
    rounds: tuple[RoundSummary, ...]
    url: str
    # Set once paid.
    paid_minor: int | None = None
    payment_method: str = ""
    closed_at: datetime | None = None
    closed_by_label: str = ""

    @property
    def is_open(self) -> bool:
        return self.status == TabStatus.OPEN

    @property
    def round_statuses(self) -> tuple[str, ...]:
        return tuple(r.status for r in self.rounds)


def _rounds() -> Prefetch[Any]:
    return Prefetch(
        "rounds",
        queryset=TabRound.objects.select_related("order")
        .prefetch_related(Prefetch("order__items", queryset=OrderItem.objects.order_by("id")))
        .order_by("number"),
    )


def _summary(tab: Tab) -> TabSummary:
    rounds = []
    for tab_round in tab.rounds.all():
        order: Order = tab_round.order
        rounds.append(
            RoundSummary(
                number=tab_round.number,
                order_id=order.pk,
                order_number=order.number,
                status=order.status,
                status_label=order.get_status_display(),
                version=order.version,
                total_minor=order.total_minor,
                counts=order.status not in FINAL_STATUSES,
                discounted=order.discount_minor > 0,
                lines=tuple(order.items.all()),
                created_at=tab_round.created_at,
            )
        )
    return TabSummary(
        tab_id=tab.pk,
        number=tab.number,
        table_id=tab.table_id,
        table_label=tab.table.label,
        status=tab.status,
        version=tab.version,
        currency=tab.currency,
        total_minor=sum(r.total_minor for r in rounds if r.counts),
        opened_at=tab.opened_at,
        rounds=tuple(rounds),
        url=reverse("orders:tab_bill", kwargs={"tab_id": tab.pk}),
        paid_minor=tab.paid_minor,
        payment_method=tab.get_payment_method_display() if tab.payment_method else "",
        closed_at=tab.closed_at,
        closed_by_label=tab.closed_by_label,
    )


def table_open_tabs() -> dict[int, TabSummary]:
    """Every open tab by its table's id, with its total and its rounds (and their statuses), oldest first.

    What the floor shows per table; four queries however many tabs are open.
    """
    tabs = (
        Tab.objects.filter(status=TabStatus.OPEN)
        .select_related("table")
        .prefetch_related(_rounds())
        .order_by("opened_at", "pk")
    )
    return {tab.table_id: _summary(tab) for tab in tabs}


def tab_bill(*, tab_id: int) -> TabSummary | None:
    """One tab, open or paid, with every round's lines: what the bill prints."""
    tab = Tab.objects.filter(pk=tab_id).select_related("table").prefetch_related(_rounds()).first()
    return None if tab is None else _summary(tab)


def tab_of_order(*, order_id: int) -> int | None:
    """The id of the tab an order is a round of, if any."""
    return TabRound.objects.filter(order_id=order_id).values_list("tab_id", flat=True).first()
