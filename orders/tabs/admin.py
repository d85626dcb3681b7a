"""Tabs in admin: managers look tabs up (open or paid, rounds, who took the money); the floor changes them."""

from __future__ import annotations

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from orders.admin_inlines import ReadOnlyInline
from orders.tabs.models import Tab, TabRound


class TabRoundInline(ReadOnlyInline):
    model = TabRound
    fields = ("number", "order", "created_at")
    readonly_fields = fields


@admin.register(Tab)
class TabAdmin(admin.ModelAdmin):
    list_display = ("__str__", "table", "status", "opened_at", "paid_minor", "payment_method", "closed_at")
    list_filter = ("status", "payment_method")
    search_fields = ("table__label",)
    date_hierarchy = "opened_at"
    inlines = (TabRoundInline,)
    readonly_fields = (
        "table",
        "status",
        "version",
        "currency",
        "opened_by",
        "opened_at",
        "paid_minor",
        "payment_method",
        "closed_by",
        "closed_by_label",
        "closed_at",
    )
    fields = readonly_fields

    def get_queryset(self, request: HttpRequest) -> QuerySet[Tab]:
        return super().get_queryset(request).select_related("table")

    # Read-only: a tab changes only through its services, which keep the rounds' orders in step.
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Tab | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Tab | None = None) -> bool:
        return False
