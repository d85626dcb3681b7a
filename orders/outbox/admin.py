"""Outbox events and dead letters in the admin."""

from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from orders.outbox.dead_letters import dead_letters_retry
from orders.outbox.models import DeadLetter, OutboxEvent


@admin.register(DeadLetter)
class DeadLetterAdmin(admin.ModelAdmin):
    list_display = ("created_at", "task_name", "error", "attempts", "retried_at")
    list_filter = ("task_name", ("retried_at", admin.EmptyFieldListFilter))
    search_fields = ("task_name", "error", "task_id")
    readonly_fields = (
        "task_name",
        "task_id",
        "args",
        "kwargs",
        "error",
        "attempts",
        "created_at",
        "retried_at",
    )
    actions = ("retry",)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.action(description="Retry selected tasks", permissions=["change"])
    def retry(self, request: HttpRequest, queryset: QuerySet[DeadLetter]) -> None:
        sent = dead_letters_retry(letter_ids=list(queryset.values_list("pk", flat=True)))
        skipped = queryset.count() - sent
        self.message_user(request, f"{sent} task(s) sent again.", messages.SUCCESS)
        if skipped:
            self.message_user(request, f"{skipped} had been retried already.", messages.WARNING)


@admin.register(OutboxEvent)
class OutboxEventAdmin(admin.ModelAdmin):
    list_display = ("created_at", "topic", "order", "published_at", "attempts")
    list_filter = ("topic", ("published_at", admin.EmptyFieldListFilter))
    readonly_fields = ("topic", "order", "payload", "created_at", "published_at", "attempts")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: OutboxEvent | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: OutboxEvent | None = None) -> bool:
        return False
