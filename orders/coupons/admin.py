"""Coupons in admin: managers add, edit and switch them off; uses are counted from the orders."""

from __future__ import annotations

from django.contrib import admin
from django.db.models import Count, Q, QuerySet
from django.http import HttpRequest

from menu.money import format_money
from orders.coupons.models import Coupon, CouponKind
from orders.state import COUPON_USE_STATUSES


@admin.register(Coupon)
class CouponAdmin(admin.ModelAdmin):
    list_display = (
        "code",
        "offer",
        "minimum",
        "valid_from",
        "valid_until",
        "uses",
        "max_uses_per_customer",
        "is_active",
        "show_in_banner",
        "retired_at",
    )
    list_filter = ("is_active", "kind", "show_in_banner")
    search_fields = ("code",)
    readonly_fields = ("uses", "retired_at", "created_at", "updated_at")
    fieldsets = (
        (
            None,
            {"fields": ("code", "kind", "value", "minimum_subtotal_minor", "is_active", "show_in_banner")},
        ),
        ("When", {"fields": ("valid_from", "valid_until")}),
        ("Limits", {"fields": ("max_uses", "max_uses_per_customer", "uses")}),
        ("Record", {"fields": ("retired_at", "created_at", "updated_at")}),
    )

    def get_queryset(self, request: HttpRequest) -> QuerySet[Coupon]:
        return (
            super()
            .get_queryset(request)
            .annotate(uses_held=Count("orders", filter=Q(orders__status__in=COUPON_USE_STATUSES)))
        )

    def has_delete_permission(self, request: HttpRequest, obj: Coupon | None = None) -> bool:
        # A used coupon is part of its orders' record: switch it off instead.
        if obj is not None and obj.orders.exists():
            return False
        return super().has_delete_permission(request, obj)

    @admin.display(description="gives")
    def offer(self, coupon: Coupon) -> str:
        if coupon.kind == CouponKind.PERCENT:
            return f"{coupon.value}% off"
        return f"{format_money(coupon.value)} off"

    @admin.display(description="minimum subtotal", ordering="minimum_subtotal_minor")
    def minimum(self, coupon: Coupon) -> str:
        return format_money(coupon.minimum_subtotal_minor) if coupon.minimum_subtotal_minor else "—"

    @admin.display(description="uses (held / limit)", ordering="uses_held")
    def uses(self, coupon: Coupon) -> str:
        held = getattr(coupon, "uses_held", None)
        if held is None:
            held = coupon.orders.filter(status__in=COUPON_USE_STATUSES).count() if coupon.pk else 0
        return f"{held} / {coupon.max_uses}" if coupon.max_uses is not None else str(held)
