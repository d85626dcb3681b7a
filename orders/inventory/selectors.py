"""Reads for the nightly inventory: which nights are due, and each part of a night's report.

A night is a local date in TIME_ZONE, from its midnight to the next. Every
figure of a night is read from the ledger and the orders' audit trail by
time, so a night caught up days later reports what happened on it.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db.models import DecimalField, OuterRef, Q, Subquery, Sum, Value
from django.db.models.functions import Coalesce, TruncDate
from django.utils import timezone

from accounts.models import User
from accounts.roles import Role
from menu.pantry.models import Ingredient, MovementKind, StockMovement
from menu.pantry.selectors import Portion, recipe_needs
from orders import state
from orders.inventory.models import (
    DailyUse,
    InventoryReport,
    LowStockLine,
    VarianceLine,
    quantity_text,
    unit_text,
)
from orders.models import Order, OrderEvent, OrderEventKind, OrderItem, OrderStatus

logger = logging.getLogger(__name__)

ZERO = Decimal(0)
# The chart shows this many days, the night's included.
CHART_DAYS = 14
# Cooking had started: a refund from here undoes the use (menu.pantry.services.stock_waste_cooked).
COOKED_STATUSES = (OrderStatus.IN_PREPARATION, OrderStatus.READY, OrderStatus.COMPLETED)


def restaurant_zone() -> ZoneInfo:
    return ZoneInfo(settings.TIME_ZONE)


@dataclass(frozen=True)
class Window:
    start: datetime
    end: datetime


def night_window(night: date) -> Window:
    """From the night's local midnight to the next: 23 or 25 hours long on the nights the clocks change."""
    zone = restaurant_zone()
    return Window(
        start=datetime.combine(night, time.min, tzinfo=zone),
        end=datetime.combine(night + timedelta(days=1), time.min, tzinfo=zone),
    )


def last_complete_night(now: datetime) -> date:
    return timezone.localtime(now, restaurant_zone()).date() - timedelta(days=1)


def nights_due(*, now: datetime) -> list[date]:
    """The nights a run at `now` reports, oldest first: every night since the last report, up to yesterday.

    At most INVENTORY_CATCH_UP_NIGHTS, the newest ones: a job down for weeks
    does not mail a month of reports at once. Without any report yet, only
    yesterday.
    """
    newest = last_complete_night(now)
    last = InventoryReport.objects.order_by("-night").values_list("night", flat=True).first()
    if last is None:
        return [newest]
    missed = (newest - last).days
    if missed <= 0:
        return []
    kept = min(missed, settings.INVENTORY_CATCH_UP_NIGHTS)
    if kept < missed:
        logger.warning(
            "inventory nights skipped",
            extra={"first": str(last + timedelta(days=1)), "skipped": missed - kept},
        )
    return [newest - timedelta(days=back) for back in reversed(range(kept))]


def orders_ended_holding_stock() -> list[tuple[int, str]]:
    """(order id, status) of cancelled and refunded orders that still hold a reservation, by id.

    Every path that ends an order releases its stock in the same transaction
    (orders.services._stock_follows); these are what any other path left (a
    change made in the database by hand, an order older than the pantry's code).
    A completed order was cooked, so what it took is use, never a hold.
    """
    holding = (
        StockMovement.objects.filter(order_id__isnull=False)
        .values("order_id")
        .annotate(held=Sum("reserved_change"))
        .filter(held__gt=0)
        .values("order_id")
    )
    return list(
        Order.objects.filter(pk__in=Subquery(holding), status__in=state.FINAL_STATUSES)
        .order_by("pk")
        .values_list("pk", "status")
    )


def _portions(order_ids: Iterable[int]) -> list[Portion]:
    lines = OrderItem.objects.filter(order_id__in=list(order_ids), menu_item__isnull=False).values_list(
        "menu_item_id", "quantity", "modifiers"
    )
    return [
        Portion(
            item_id=item_id,
            quantity=quantity,
            option_ids=tuple(int(m["option_id"]) for m in modifiers if m.get("option_id") is not None),
        )
        for item_id, quantity, modifiers in lines
    ]


def _predicted_use(window: Window) -> dict[int, Decimal]:
    """What recipes say the night took, per ingredient id: as the ledger counts use, by time.

    The orders whose cooking first started that night (a recall starts no
    new use), less the orders refunded that night after cooking had started
    (their use is undone then and recorded as waste). Recipes are read as
    they are now: a recipe changed since the orders were placed shows as
    variance.
    """
    in_night = Q(created_at__gte=window.start, created_at__lt=window.end)
    started = set(
        OrderEvent.objects.filter(
            in_night, kind=OrderEventKind.STATUS_CHANGED, to_status=OrderStatus.IN_PREPARATION
        ).values_list("order_id", flat=True)
    )
    started -= set(
        OrderEvent.objects.filter(
            order_id__in=started,
            kind=OrderEventKind.STATUS_CHANGED,
            to_status=OrderStatus.IN_PREPARATION,
            created_at__lt=window.start,
        ).values_list("order_id", flat=True)
    )
    undone = set(
        OrderEvent.objects.filter(
            in_night,
            kind=OrderEventKind.STATUS_CHANGED,
            to_status=OrderStatus.REFUNDED,
            from_status__in=COOKED_STATUSES,
        ).values_list("order_id", flat=True)
    )
    predicted: dict[int, Decimal] = defaultdict(lambda: ZERO)
    for pk, need in recipe_needs(portions=_portions(started)).items():
        predicted[pk] += need.quantity
    for pk, need in recipe_needs(portions=_portions(undone)).items():
        predicted[pk] -= need.quantity
    return dict(predicted)


def _movements_by_kind(window: Window) -> dict[tuple[int, str], Decimal]:
    rows = (
        StockMovement.objects.filter(
            created_at__gte=window.start,
            created_at__lt=window.end,
            kind__in=(MovementKind.USE, MovementKind.WASTE, MovementKind.COUNT_CORRECTION),
        )
        .values("ingredient_id", "kind")
        .annotate(change=Sum("on_hand_change"))
        .order_by()
    )
    return {(row["ingredient_id"], row["kind"]): row["change"] for row in rows}


def night_variance(window: Window) -> list[VarianceLine]:
    """Per ingredient that moved or was predicted to: the night's use against the recipes', by name."""
    predicted = _predicted_use(window)
    changes = _movements_by_kind(window)
    ids = set(predicted) | {pk for pk, _ in changes}
    ingredients = Ingredient.objects.in_bulk(list(ids))
    lines: list[VarianceLine] = []
    for pk in sorted(ids, key=lambda pk: ingredients[pk].name):
        used = -changes.get((pk, MovementKind.USE), ZERO)
        expected = predicted.get(pk, ZERO)
        wasted = -changes.get((pk, MovementKind.WASTE), ZERO)
        corrected = changes.get((pk, MovementKind.COUNT_CORRECTION), ZERO)
        if not (used or expected or wasted or corrected):
            continue
        lines.append(
            VarianceLine(
                ingredient=ingredients[pk].name,
                unit=unit_text(ingredients[pk].unit),
                used=quantity_text(used),
                predicted=quantity_text(expected),
                variance=quantity_text(used - expected),
                wasted=quantity_text(wasted),
                corrected=quantity_text(corrected),
            )
        )
    return lines


def low_stock_at(moment: datetime) -> list[LowStockLine]:
    """Ingredients whose on hand at `moment` was under their reorder point, with what brings them to par.

    On hand then is on hand now less every movement since, read in one
    statement (one snapshot), so a delivery committing meanwhile is counted
    in both or in neither.
    """
    since = (
        StockMovement.objects.filter(ingredient=OuterRef("pk"), created_at__gte=moment)
        .values("ingredient")
        .annotate(total=Sum("on_hand_change"))
        .values("total")
    )
    quantity = DecimalField(max_digits=14, decimal_places=3)
    ingredients = Ingredient.objects.annotate(
        later=Coalesce(Subquery(since, output_field=quantity), Value(ZERO), output_field=quantity)
    ).order_by("name")
    lines: list[LowStockLine] = []
    for ingredient in ingredients:
        on_hand = ingredient.on_hand - ingredient.later
        if on_hand < ingredient.reorder_point:
            lines.append(
                LowStockLine(
                    ingredient=ingredient.name,
                    unit=unit_text(ingredient.unit),
                    on_hand=quantity_text(on_hand),
                    reorder_point=quantity_text(ingredient.reorder_point),
                    par_level=quantity_text(ingredient.par_level),
                    to_order=quantity_text(ingredient.par_level - on_hand),
                )
            )
    return lines


def daily_use(night: date) -> tuple[list[str], list[DailyUse]]:
    """The chart: the CHART_DAYS local dates ending with the night, and each ingredient's use on them."""
    days = [night - timedelta(days=back) for back in reversed(range(CHART_DAYS))]
    zone = restaurant_zone()
    rows = (
        StockMovement.objects.filter(
            kind=MovementKind.USE,
            created_at__gte=night_window(days[0]).start,
            created_at__lt=night_window(night).end,
        )
        .annotate(day=TruncDate("created_at", tzinfo=zone))
        .values("ingredient_id", "day")
        .annotate(change=Sum("on_hand_change"))
        .order_by()
    )
    used: dict[int, dict[date, Decimal]] = defaultdict(dict)
    for row in rows:
        used[row["ingredient_id"]][row["day"]] = -row["change"]
    ingredients = Ingredient.objects.in_bulk(list(used))
    lines = [
        DailyUse(
            ingredient=ingredients[pk].name,
            unit=unit_text(ingredients[pk].unit),
            used=[quantity_text(used[pk].get(day, ZERO)) for day in days],
        )
        for pk in sorted(used, key=lambda pk: ingredients[pk].name)
        if any(used[pk].values())
    ]
    return [day.isoformat() for day in days], lines


def report_recipients() -> list[str]:
    """The managers' addresses: active users in the manager role (superusers hold every role)."""
    return sorted(
        set(
            User.objects.filter(is_active=True)
            .filter(Q(is_superuser=True) | Q(groups__name=Role.MANAGER.value))
            .exclude(email="")
            .values_list("email", flat=True)
        )
    )


def reports_unsent(*, nights: int, built_before: datetime) -> list[int]:
    """Ids of the newest reports whose email has not gone out, built before `built_before`, to queue again.

    Only those built a while ago: a report built a moment ago has its email queued already.
    """
    newest = InventoryReport.objects.order_by("-night").values_list("night", flat=True).first()
    if newest is None:
        return []
    return list(
        InventoryReport.objects.filter(
            email_sent_at__isnull=True,
            built_at__lt=built_before,
            night__gt=newest - timedelta(days=nights),
        )
        .order_by("night")
        .values_list("pk", flat=True)
    )
