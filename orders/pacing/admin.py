"""Kitchen pacing in admin: capacity per slot, the hard cap and opening hours, on one page."""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest

from orders.pacing.models import KitchenPacing, OpeningHours


class OpeningHoursInline(admin.TabularInline):
    model = OpeningHours
    extra = 1
    verbose_name_plural = "opening hours (restaurant time; no rows: always open)"


@admin.register(KitchenPacing)
class KitchenPacingAdmin(admin.ModelAdmin):
    list_display = ("__str__", "orders_per_slot", "items_per_slot", "hard_cap_orders", "default_prep_minutes")
    inlines = (OpeningHoursInline,)
    fieldsets = (
        ("Capacity per 15-minute slot", {"fields": ("orders_per_slot", "items_per_slot", "hard_cap_orders")}),
        ("Quotes and scheduling", {"fields": ("default_prep_minutes", "schedule_days_ahead")}),
    )

    # One row for the restaurant: it is edited, never added twice or deleted.
    def has_add_permission(self, request: HttpRequest) -> bool:
        return not KitchenPacing.objects.exists() and super().has_add_permission(request)

    def has_delete_permission(self, request: HttpRequest, obj: KitchenPacing | None = None) -> bool:
        return False
