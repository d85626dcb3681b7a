"""The kitchen's pace as managers set it: capacity per slot, opening hours, the slot rows checkout locks."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

# Pickup slots are quarter-hours; opening hours are set on quarter-hours too.
SLOT_MINUTES = 15


class KitchenPacing(models.Model):
    """The restaurant's pacing rules: one row per location (a single one today, pk 1)."""

    orders_per_slot = models.PositiveSmallIntegerField(
        default=12,
        validators=[MinValueValidator(1), MaxValueValidator(10000)],
        help_text="How many orders the kitchen finishes in 15 minutes.",
    )
    items_per_slot = models.PositiveSmallIntegerField(
        null=True,
        blank=True,
        validators=[MinValueValidator(1), MaxValueValidator(10000)],
        help_text="How many items (dishes and drinks) it finishes in 15 minutes. Empty: count orders only.",
    )
    hard_cap_orders = models.PositiveSmallIntegerField(
        "hard cap",
        default=40,
        validators=[MinValueValidator(1), MaxValueValidator(10000)],
        help_text=(
            "Paid orders in the kitchen at once (not yet ready) from which online orders for "
            "'as soon as possible' are refused; customers can still pick a later time."
        ),
    )
    default_prep_minutes = models.PositiveSmallIntegerField(
        default=15,
        validators=[MinValueValidator(1), MaxValueValidator(240)],
        help_text="Minutes an order takes while there are too few finished orders to measure it.",
    )
    schedule_days_ahead = models.PositiveSmallIntegerField(
        default=2,
        validators=[MaxValueValidator(14)],
        help_text="How many days ahead customers may pick a pickup time (always at least the next opening).",
    )

    class Meta:
        verbose_name = "kitchen pacing"
        verbose_name_plural = "kitchen pacing"

    def __str__(self) -> str:
        return "Kitchen pacing"


class Weekday(models.IntegerChoices):
    MONDAY = 0, "Monday"
    TUESDAY = 1, "Tuesday"
    WEDNESDAY = 2, "Wednesday"
    THURSDAY = 3, "Thursday"
    FRIDAY = 4, "Friday"
    SATURDAY = 5, "Saturday"
    SUNDAY = 6, "Sunday"


class OpeningHours(models.Model):
    """One opening on a weekday, in the restaurant's time zone (TIME_ZONE).

    Closing at or before the opening time means closing the next day: 18:00
    to 02:00 is one evening, 00:00 to 00:00 a whole day. A weekday may have
    several openings (lunch and dinner); with no openings at all the kitchen
    counts as always open.
    """

    pacing = models.ForeignKey(KitchenPacing, on_delete=models.CASCADE, related_name="opening_hours")
    weekday = models.PositiveSmallIntegerField(choices=Weekday.choices)
    opens = models.TimeField()
    closes = models.TimeField(help_text="At or before the opening time: closes the next day.")

    class Meta:
        ordering = ("weekday", "opens")
        verbose_name_plural = "opening hours"
        constraints = [
            models.CheckConstraint(
                condition=models.Q(weekday__gte=0, weekday__lte=6), name="opening_weekday_valid"
            ),
            models.UniqueConstraint(fields=("pacing", "weekday", "opens"), name="opening_one_per_start"),
        ]

    def __str__(self) -> str:
        return f"{self.get_weekday_display()} {self.opens:%H:%M}–{self.closes:%H:%M}"

    def clean(self) -> None:
        for name in ("opens", "closes"):
            value = getattr(self, name)
            if value is not None and (value.minute % SLOT_MINUTES or value.second or value.microsecond):
                raise ValidationError({name: "Use a quarter-hour (:00, :15, :30 or :45)."})


class PacingSlot(models.Model):
    """A 15-minute pickup slot that an order was booked into: the row checkout locks.

    Booking takes this row's lock, then counts the orders already in the slot,
    so two checkouts racing for its last place are served one after the other
    and exactly one gets it. The count itself comes from the orders, so a
    cancelled order frees its place with nothing to undo here.
    """

    starts_at = models.DateTimeField(unique=True)
    last_booked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ("starts_at",)

    def __str__(self) -> str:
        return f"slot at {self.starts_at:%Y-%m-%d %H:%M} UTC"
