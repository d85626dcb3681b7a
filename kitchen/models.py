"""The kitchen: stations, what each cooks, and the tickets a paid order becomes.

A paid order becomes one ticket per station that cooks part of it; the order
is in preparation once any station starts and ready once every station has
bumped. Tickets copy nothing from the menu: their lines are the order's own
snapshot lines, so a menu edit never changes a ticket on the board.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models


class Station(models.Model):
    """A place on the line that cooks some of the menu: grill, fry, cold, pastry, bar."""

    name = models.CharField(max_length=60)
    slug = models.SlugField(max_length=60, unique=True, help_text="Used in the station's board address.")
    sort_order = models.PositiveIntegerField(default=0)
    is_active = models.BooleanField("on the board", default=True)
    # Items with no route of their own are cooked here, so nothing is ever unrouted.
    is_default = models.BooleanField(
        "default station", default=False, help_text="Cooks every item that has no station of its own."
    )
    warn_after_minutes = models.PositiveSmallIntegerField(
        default=8,
        validators=[MinValueValidator(1), MaxValueValidator(240)],
        help_text="A ticket turns amber once it has waited this long.",
    )
    late_after_minutes = models.PositiveSmallIntegerField(
        default=15,
        validators=[MinValueValidator(1), MaxValueValidator(240)],
        help_text="A ticket turns red once it has waited this long.",
    )

    class Meta:
        ordering = ("sort_order", "name")
        constraints = [
            models.UniqueConstraint(
                fields=("is_default",), condition=models.Q(is_default=True), name="station_one_default"
            ),
            models.CheckConstraint(
                condition=models.Q(late_after_minutes__gt=models.F("warn_after_minutes")),
                name="station_late_after_warn",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        if (
            None not in (self.warn_after_minutes, self.late_after_minutes)
            and self.late_after_minutes <= self.warn_after_minutes
        ):
            raise ValidationError({"late_after_minutes": "Must be longer than the amber threshold."})


class ItemRoute(models.Model):
    """Sends one menu item to the station that cooks it (one station per item)."""

    menu_item = models.OneToOneField("menu.MenuItem", on_delete=models.CASCADE, related_name="kitchen_route")
    station = models.ForeignKey(Station, on_delete=models.CASCADE, related_name="routes")

    class Meta:
        ordering = ("station", "menu_item")
        verbose_name = "menu item"

    def __str__(self) -> str:
        return f"{self.menu_item} → {self.station}"


class TicketStatus(models.TextChoices):
    # On the board, not yet touched.
    NEW = "new", "New"
    # A cook has started it.
    COOKING = "cooking", "Cooking"
    # Done at this station; can be recalled while the order is not handed over.
    BUMPED = "bumped", "Bumped"
    # The order was refunded before it was served: stop cooking.
    VOID = "void", "Void"


OPEN_TICKET_STATUSES = (TicketStatus.NEW, TicketStatus.COOKING)


class Ticket(models.Model):
    order = models.ForeignKey("orders.Order", on_delete=models.CASCADE, related_name="tickets")
    station = models.ForeignKey(Station, on_delete=models.PROTECT, related_name="tickets")
    lines = models.ManyToManyField("orders.OrderItem", related_name="tickets")
    status = models.CharField(max_length=10, choices=TicketStatus.choices, default=TicketStatus.NEW)
    # Bumped by every change; a button pressed on a stale board loses.
    version = models.PositiveIntegerField(default=1)
    # When the paid order reached the board: a ticket's age counts from here.
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    bumped_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ("created_at", "id")
        constraints = [
            # Publishing "order paid" twice must not put the order on the board twice.
            models.UniqueConstraint(fields=("order", "station"), name="ticket_one_per_station"),
            models.CheckConstraint(
                condition=models.Q(status__in=TicketStatus.values), name="ticket_status_valid"
            ),
        ]
        indexes = [models.Index(fields=("status", "created_at"))]

    def __str__(self) -> str:
        return f"{self.station} ticket for order #{self.order_id}"


class BoardClock(models.Model):
    """The board's sequence: one row whose counter rises by one with every change the boards are sent.

    Taken with the change in the same transaction (the row lock orders
    writers), so numbers are contiguous in commit order and a board that sees
    a gap knows it missed a change. Ticket changes take a number, and so does
    a change of the 86 list.
    """

    seq = models.PositiveBigIntegerField(default=0)
    # The 86 list the boards were last sent ([{"name", "why"}]): a menu change
    # that leaves it as it is sends them nothing (kitchen.services).
    sold_out = models.JSONField(default=list, blank=True)

    def __str__(self) -> str:
        return f"board at {self.seq}"
