"""Nightly inventory reports in admin: read-only, as the job built them, with a chart of 14 days' use."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.contrib import admin
from django.http import HttpRequest
from django.template.loader import render_to_string
from django.utils.safestring import SafeString

from orders.inventory.models import InventoryReport, quantity_text

# The chart's geometry, in SVG user units: one row of bars per ingredient.
BAR_WIDTH = 18
BAR_GAP = 4
ROW_HEIGHT = 40


@dataclass(frozen=True)
class Bar:
    x: int
    y: float
    height: float
    title: str


@dataclass(frozen=True)
class ChartRow:
    ingredient: str
    unit: str
    most: str
    bars: list[Bar]


def chart_rows(report: InventoryReport) -> list[ChartRow]:
    """Each ingredient's 14 days as bars scaled to its own busiest day.

    Units differ (grams, pieces), so the rows share no scale.
    """
    days = [date.fromisoformat(day) for day in report.use_days]
    rows = []
    for line in report.daily_use:
        quantities = [Decimal(used) for used in line["used"]]
        most = max(quantities, default=Decimal(0))
        bars = []
        for index, (day, quantity) in enumerate(zip(days, quantities, strict=True)):
            height = float(quantity / most * ROW_HEIGHT) if most > 0 and quantity > 0 else 0.0
            bars.append(
                Bar(
                    x=index * (BAR_WIDTH + BAR_GAP),
                    y=ROW_HEIGHT - height,
                    height=height,
                    title=f"{day:%a %d %b}: {quantity_text(quantity)} {line['unit']}",
                )
            )
        rows.append(
            ChartRow(ingredient=line["ingredient"], unit=line["unit"], most=quantity_text(most), bars=bars)
        )
    return rows


@admin.register(InventoryReport)
class InventoryReportAdmin(admin.ModelAdmin):
    list_display = (
        "night",
        "to_reorder",
        "variance_lines",
        "released_orders",
        "coupons_retired",
        "email_sent_at",
    )
    date_hierarchy = "night"
    fields = (
        "night",
        "built_at",
        "email_sent_at",
        "mailed_to",
        "use_chart",
        "low_stock_table",
        "variance_table",
        "released_table",
        "coupons_table",
    )
    readonly_fields = fields

    # Reports are history: built by the nightly job (or its command), never typed.
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    @admin.display(description="to reorder")
    def to_reorder(self, report: InventoryReport) -> int:
        return len(report.low_stock)

    @admin.display(description="ingredients compared")
    def variance_lines(self, report: InventoryReport) -> int:
        return len(report.variance)

    @admin.display(description="orders released")
    def released_orders(self, report: InventoryReport) -> int:
        return len(report.released)

    @admin.display(description="coupons retired")
    def coupons_retired(self, report: InventoryReport) -> int:
        return len(report.retired_coupons)

    @admin.display(description="mailed to")
    def mailed_to(self, report: InventoryReport) -> str:
        if report.email_sent_at is None:
            return "not yet"
        return ", ".join(report.email_recipients) or "nobody: no manager has an email address"

    @admin.display(description="use, last 14 days")
    def use_chart(self, report: InventoryReport) -> SafeString:
        return self._part(
            "chart",
            rows=chart_rows(report),
            first_day=report.use_days[0] if report.use_days else "",
            last_day=report.use_days[-1] if report.use_days else "",
            width=len(report.use_days) * (BAR_WIDTH + BAR_GAP),
            height=ROW_HEIGHT,
            bar_width=BAR_WIDTH,
        )

    @admin.display(description="under the reorder point")
    def low_stock_table(self, report: InventoryReport) -> SafeString:
        return self._part("low_stock", lines=report.low_stock)

    @admin.display(description="use against recipes")
    def variance_table(self, report: InventoryReport) -> SafeString:
        return self._part("variance", lines=report.variance)

    @admin.display(description="reservations released")
    def released_table(self, report: InventoryReport) -> SafeString:
        return self._part("released", orders=report.released)

    @admin.display(description="coupons retired")
    def coupons_table(self, report: InventoryReport) -> SafeString:
        return self._part("coupons", coupons=report.retired_coupons)

    def _part(self, name: str, **context: object) -> SafeString:
        # Rendered by the template engine, so every name in it is escaped.
        return SafeString(render_to_string(f"admin/orders/inventoryreport/_{name}.html", context))
