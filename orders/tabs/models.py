"""A table's tab: the rounds a waiter sent to the kitchen unpaid, paid together with the bill."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class TabStatus(models.TextChoices):
    # Rounds may be added; nothing is paid yet.
    OPEN = "open", "Open"
    # The bill was paid as a whole; the tab takes no more rounds.
    PAID = "paid", "Paid and closed"


class TabPaymentMethod(models.TextChoices):
    CASH = "cash", "Cash at the till"
    CARD = "card", "Card at the till"
    # Through the payment provider (orders.payments), confirmed by its webhook.
    ONLINE = "online", "Paid online"


class Tab(models.Model):
    """One table's sitting, from the first round to the paid bill. At most one is open per table."""

    table = models.ForeignKey("orders.Table", on_delete=models.PROTECT, related_name="tabs")
    status = models.CharField(max_length=8, choices=TabStatus.choices, default=TabStatus.OPEN)
    # Bumped by every change (a round added or taken off, the payment): a bill
    # paid against a version the waiter did not see is refused.
    version = models.PositiveIntegerField(default=1)
    currency = models.CharField(max_length=3)
    opened_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    opened_at = models.DateTimeField(auto_now_add=True, db_index=True)
    # What the table paid, how, by whom and when; empty while open.
    paid_minor = models.PositiveIntegerField(null=True, blank=True)
    payment_method = models.CharField(max_length=8, choices=TabPaymentMethod.choices, blank=True)
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    closed_by_label = models.CharField(max_length=150, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ("-opened_at", "-id")
        constraints = [
            # Two waiters opening a tab for one table at once make one tab.
            models.UniqueConstraint(
                fields=("table",), condition=models.Q(status="open"), name="tab_one_open_per_table"
            ),
            models.CheckConstraint(condition=models.Q(status__in=TabStatus.values), name="tab_status_valid"),
            models.CheckConstraint(
                condition=models.Q(status="open", paid_minor__isnull=True, closed_at__isnull=True)
                | models.Q(status="paid", paid_minor__isnull=False, closed_at__isnull=False),
                name="tab_paid_iff_closed",
            ),
        ]

    def __str__(self) -> str:
        return f"Tab {self.number}"

    @property
    def number(self) -> str:
        return f"T{self.pk}" if self.pk else "T—"

    @property
    def is_open(self) -> bool:
        return self.status == TabStatus.OPEN


class TabRound(models.Model):
    """One order on a tab, numbered in the order the table ordered."""

    tab = models.ForeignKey(Tab, on_delete=models.PROTECT, related_name="rounds")
    # An order is a round of at most one tab.
    order = models.OneToOneField("orders.Order", on_delete=models.PROTECT, related_name="tab_round")
    number = models.PositiveSmallIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ("tab", "number")
        constraints = [models.UniqueConstraint(fields=("tab", "number"), name="tabround_number_unique")]

    def __str__(self) -> str:
        return f"Round {self.number} of {self.tab}"
