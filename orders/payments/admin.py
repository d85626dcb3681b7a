"""Payments and refunds in the admin: read-only, money moves through services."""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest

from menu.money import format_money
from orders.payments.models import Payment, Refund


def received_label(payment: Payment) -> str:
    if payment.received_minor is None:
        return "—"
    if payment.received_currency != payment.currency.upper():
        # Not ours to format: a currency the order was never priced in.
        return f"{payment.received_minor} minor units of {payment.received_currency or '?'}"
    return format_money(payment.received_minor, payment.received_currency)


@admin.register(Payment)
class PaymentAdmin(admin.ModelAdmin):
    """Read-only: money changes only through the provider's events and refunds."""

    list_display = (
        "created_at",
        "order",
        "provider",
        "provider_ref",
        "status",
        "asked",
        "received",
        "refunded",
    )
    # "Amount mismatch" here is where a manager finds money that did not match its order.
    list_filter = ("status", "provider")
    list_select_related = ("order",)
    search_fields = ("provider_ref", "order__contact_email")
    readonly_fields = (
        "order", "provider", "provider_ref", "amount_minor", "currency", "received_minor",
        "received_currency", "status", "refunded_minor", "refund_reserved_minor", "created_at", "updated_at",
    )  # fmt: skip

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Payment | None = None) -> bool:
        return False

    @admin.display(description="asked", ordering="amount_minor")
    def asked(self, payment: Payment) -> str:
        return format_money(payment.amount_minor, payment.currency)

    @admin.display(description="received", ordering="received_minor")
    def received(self, payment: Payment) -> str:
        return received_label(payment)

    @admin.display(description="refunded", ordering="refunded_minor")
    def refunded(self, payment: Payment) -> str:
        return format_money(payment.refunded_minor, payment.taken_currency)


@admin.register(Refund)
class RefundAdmin(admin.ModelAdmin):
    """Read-only: pending refunds are delivered by the task and the sweep; failed ones need a person."""

    list_display = (
        "created_at",
        "payment",
        "amount_minor",
        "status",
        "attempts",
        "actor_label",
        "last_error",
    )
    list_filter = ("status",)
    list_select_related = ("payment",)
    search_fields = ("provider_ref", "idempotency_key")
    readonly_fields = (
        "payment", "amount_minor", "status", "idempotency_key", "provider_ref", "reason", "actor_label",
        "attempts", "claimed_until", "last_error", "created_at", "completed_at",
    )  # fmt: skip

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Refund | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Refund | None = None) -> bool:
        return False
