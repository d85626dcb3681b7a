"""One row per night: the report as it was built, and whether it reached the managers."""

from __future__ import annotations

from decimal import Decimal
from typing import TypedDict

from django.db import models

from menu.pantry.models import Unit


def quantity_text(quantity: Decimal) -> str:
    """A quantity as people read it and the report keeps it: 1250, 0.5, never 1250.000 or 1.25E+3."""
    return "0" if quantity == 0 else format(quantity.normalize(), "f")


def unit_text(unit: str) -> str:
    """A unit as the report prints it after a quantity: g, ml, pc."""
    return "pc" if unit == Unit.PIECE else unit


class LowStockLine(TypedDict):
    ingredient: str
    # As printed after a quantity (unit_text): g, ml, pc.
    unit: str
    # Quantities are decimal strings in the ingredient's unit (quantity_text: "1250", "0.5").
    on_hand: str
    reorder_point: str
    par_level: str
    # What brings it back to par.
    to_order: str


class VarianceLine(TypedDict):
    ingredient: str
    unit: str
    # What the night's use movements took from on hand (net of a use undone by a refund).
    used: str
    # What the recipes of the orders whose cooking started that night take,
    # less those refunded after cooking that night.
    predicted: str
    # used - predicted: above zero, more left the shelf than the recipes say.
    variance: str
    wasted: str
    # The night's stock counts: below zero, the count found less than the ledger said.
    corrected: str


class ReleasedQuantity(TypedDict):
    ingredient: str
    unit: str
    quantity: str


class ReleasedOrder(TypedDict):
    order_id: int
    status: str
    ingredients: list[ReleasedQuantity]


class RetiredCoupon(TypedDict):
    code: str
    # ISO 8601, in UTC.
    valid_until: str
    offer: str


class DailyUse(TypedDict):
    ingredient: str
    unit: str
    # One decimal string per day of InventoryReport.use_days, oldest first.
    used: list[str]


class InventoryReport(models.Model):
    """The nightly inventory of one night (a local date in TIME_ZONE), built once.

    The unique night is what makes a second run, or a second beat, build
    nothing: the first builder's insert holds the night until it commits.
    """

    night = models.DateField(unique=True, help_text="The restaurant's day the report covers (local date).")
    built_at = models.DateTimeField()
    low_stock = models.JSONField(default=list, blank=True)
    variance = models.JSONField(default=list, blank=True)
    released = models.JSONField(default=list, blank=True)
    retired_coupons = models.JSONField(default=list, blank=True)
    # The chart: the 14 local dates ending with the night, and each ingredient's use on them.
    use_days = models.JSONField(default=list, blank=True)
    daily_use = models.JSONField(default=list, blank=True)

    # Set when the managers' email went out: once per night.
    email_sent_at = models.DateTimeField(null=True, blank=True)
    email_recipients = models.JSONField(default=list, blank=True)
    # Until when a worker has claimed sending it: the mail goes out with no row
    # locked, and the claim of a worker that died meanwhile expires.
    email_claimed_until = models.DateTimeField(null=True, blank=True)

    class Meta:
        app_label = "orders"
        ordering = ("-night",)
        verbose_name = "nightly inventory report"

    def __str__(self) -> str:
        return f"Inventory for {self.night:%a %d %b %Y}"
