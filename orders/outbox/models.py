"""The outbox's rows: events waiting to be published, and tasks that ran out of tries."""

from __future__ import annotations

from django.db import models


class OutboxEvent(models.Model):
    """A domain event, written in the same transaction as the change it announces.

    The relay publishes it after commit (and a periodic sweep catches any the
    process died before publishing), so "order paid" reaches the kitchen, the
    email and the partners even if the web process crashes right after the
    payment commits. Publishing twice is harmless: every consumer is idempotent.
    An event about an order names it; one about anything else (the menu, the
    pantry) has none and says what it is about in its payload.
    """

    topic = models.CharField(max_length=64)
    order = models.ForeignKey(
        "orders.Order", null=True, blank=True, on_delete=models.CASCADE, related_name="outbox_events"
    )
    payload = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    published_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ("created_at", "id")
        indexes = [models.Index(fields=("published_at", "created_at"), name="outbox_unpublished")]

    def __str__(self) -> str:
        return f"{self.topic} #{self.order_id}" if self.order_id else f"{self.topic} ({self.pk})"

    @property
    def order_pk(self) -> int:
        """The order this event is about, for consumers of events that always have one."""
        if self.order_id is None:
            raise ValueError(f"outbox event {self.pk} ({self.topic}) is about no order")
        return self.order_id


class DeadLetter(models.Model):
    """A task that failed its last try, kept for a person to look at and retry."""

    task_name = models.CharField(max_length=200)
    task_id = models.CharField(max_length=64, blank=True)
    args = models.JSONField(default=list, blank=True)
    kwargs = models.JSONField(default=dict, blank=True)
    error = models.CharField(max_length=1000)
    attempts = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField(auto_now_add=True)
    retried_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ("-created_at",)
        verbose_name = "dead letter"

    def __str__(self) -> str:
        return f"{self.task_name} ({self.created_at:%Y-%m-%d %H:%M})"
