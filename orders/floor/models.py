"""The restaurant's tables as managers set them in admin."""

from __future__ import annotations

import re
from collections.abc import Collection

from django.core.validators import MinValueValidator, RegexValidator
from django.db import models
from django.db.models.functions import Lower

# Order.table_number holds the label as it was when the order was placed.
LABEL_MAX_LENGTH = 10
# A label is typed by waiters, printed under a QR code and read aloud at the
# pass: letters, digits and a few separators ("12", "T4", "Bar 2", "Patio-3").
# \Z, not $: "$" also matches before a final line break.
LABEL_PATTERN = re.compile(r"^[^\W_](?:[\w .#/-]*[^\W_])?\Z")
LABEL_RULE = (
    f"A table's label is letters and digits, with spaces, dots, dashes, slashes or # between them, "
    f"up to {LABEL_MAX_LENGTH} characters."
)
LABEL_TAKEN = "Another table in service already has this label."


def table_not_in_service_message(label: str) -> str:
    return f"There is no table “{label.strip()}” in service. Choose one of the restaurant's tables."


class TableQuerySet(models.QuerySet["Table"]):
    def in_service(self) -> TableQuerySet:
        return self.filter(retired_at__isnull=True)

    def in_floor_order(self) -> TableQuerySet:
        return self.order_by("area", "sort_order", "label", "pk")


class Table(models.Model):
    """A table guests sit at. Retired, never deleted, once it has orders: they are its history.

    Renaming keeps the history too (orders point at the row; each order keeps
    the label it was placed under). Bumping `link_version` replaces the
    table's QR code: links printed before stop working.
    """

    label = models.CharField(
        max_length=LABEL_MAX_LENGTH,
        validators=[RegexValidator(LABEL_PATTERN, LABEL_RULE)],
        help_text="What waiters type and the QR sheet prints: “12”, “T4”, “Bar 2”. "
        "Unique among tables in service; case does not matter.",
    )
    area = models.CharField(
        max_length=40,
        blank=True,
        help_text="The floor or room (“Ground floor”, “Terrace”): one QR sheet per area.",
    )
    seats = models.PositiveSmallIntegerField(default=4, validators=[MinValueValidator(1)])
    sort_order = models.PositiveIntegerField(default=0, help_text="Lower first within its area.")
    # Set when a manager retires the table: its link stops working and no new
    # order may name it; its past orders keep pointing at it.
    retired_at = models.DateTimeField(null=True, blank=True, editable=False)
    # Part of what the QR link signs: bumping it kills every printed copy.
    link_version = models.PositiveIntegerField(default=1, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = TableQuerySet.as_manager()

    class Meta:
        ordering = ("area", "sort_order", "label", "pk")
        constraints = [
            models.UniqueConstraint(
                Lower("label"),
                condition=models.Q(retired_at__isnull=True),
                name="table_label_unique_in_service",
                violation_error_message=LABEL_TAKEN,
            ),
            models.CheckConstraint(condition=models.Q(seats__gte=1), name="table_seats_positive"),
        ]

    def __str__(self) -> str:
        return f"Table {self.label}"

    def validate_constraints(self, exclude: Collection[str] | None = None) -> None:
        # retired_at is not on the admin's form, and Django skips a constraint naming
        # a field the form leaves out: the label's uniqueness must be checked anyway.
        super().validate_constraints(exclude=set(exclude or ()) - {"retired_at"})

    @property
    def in_service(self) -> bool:
        return self.retired_at is None


class FloorClock(models.Model):
    """The live floor's sequence: one row whose counter rises by one with every change floor pages are sent.

    Taken in the transaction of the change it numbers, as the kitchen's
    BoardClock is (the row lock orders writers), so numbers are contiguous in
    commit order and a floor page that sees a gap knows it missed one.
    """

    seq = models.PositiveBigIntegerField(default=0)

    def __str__(self) -> str:
        return f"floor at {self.seq}"
