"""Kitchen in admin: stations with their colour thresholds and the items each cooks; tickets to look up."""

from __future__ import annotations

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from kitchen.models import ItemRoute, Station, Ticket


class ItemRouteInline(admin.TabularInline):
    model = ItemRoute
    extra = 1
    autocomplete_fields = ("menu_item",)
    verbose_name_plural = "menu items cooked here (an item is cooked at one station)"


@admin.register(Station)
class StationAdmin(admin.ModelAdmin):
    list_display = (
        "name",
        "slug",
        "is_active",
        "is_default",
        "warn_after_minutes",
        "late_after_minutes",
        "items",
    )
    list_editable = ("is_active", "warn_after_minutes", "late_after_minutes")
    prepopulated_fields = {"slug": ("name",)}
    inlines = (ItemRouteInline,)
    fieldsets = (
        (None, {"fields": ("name", "slug", "sort_order", "is_active", "is_default")}),
        ("Ticket age colours", {"fields": ("warn_after_minutes", "late_after_minutes")}),
    )

    @admin.display(description="items")
    def items(self, station: Station) -> int:
        return station.routes.count()


@admin.register(Ticket)
class TicketAdmin(admin.ModelAdmin):
    list_display = ("id", "order_number", "station", "status", "created_at", "started_at", "bumped_at")
    list_filter = ("status", "station")
    search_fields = ("=order__id",)
    date_hierarchy = "created_at"
    readonly_fields = (
        "order",
        "station",
        "status",
        "version",
        "created_at",
        "started_at",
        "bumped_at",
        "line_list",
        "instructions",
    )
    fields = readonly_fields

    def get_queryset(self, request: HttpRequest) -> QuerySet[Ticket]:
        return super().get_queryset(request).select_related("order", "station")

    @admin.display(description="order", ordering="order_id")
    def order_number(self, ticket: Ticket) -> str:
        return ticket.order.number

    @admin.display(description="items")
    def line_list(self, ticket: Ticket) -> str:
        return "; ".join(str(line) for line in ticket.lines.all())

    @admin.display(description="special instructions")
    def instructions(self, ticket: Ticket) -> str:
        return ticket.order.special_instructions

    # Tickets change on the board only, where the order follows them.
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Ticket | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Ticket | None = None) -> bool:
        return False
