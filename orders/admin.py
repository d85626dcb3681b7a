from __future__ import annotations

import uuid
from decimal import Decimal

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse

from accounts.roles import Actor
from menu.money import decimal_to_minor, format_money, minor_to_decimal
from orders.admin_inlines import ReadOnlyInline
from orders.checkout import order_cancel_by
from orders.models import (
    Order,
    OrderEvent,
    OrderItem,
    Refund,
    RefundStatus,
)
from orders.payments.services import payment_refund
from orders.selectors import order_refundable_payment
from orders.services import order_mark_paid
from restaurant.errors import ApplicationError


class OrderItemInline(ReadOnlyInline):
    model = OrderItem
    fields = ("quantity", "name", "modifier_text", "note", "unit_price", "line_total")
    readonly_fields = fields

    @admin.display(description="unit price")
    def unit_price(self, line: OrderItem) -> str:
        return format_money(line.unit_price_minor, line.order.currency)

    @admin.display(description="line total")
    def line_total(self, line: OrderItem) -> str:
        return format_money(line.line_total_minor, line.order.currency)


class OrderEventInline(ReadOnlyInline):
    model = OrderEvent
    verbose_name_plural = "audit trail"
    fields = ("created_at", "kind", "from_status", "to_status", "actor_label", "reason", "data")
    readonly_fields = fields


class RefundForm(forms.Form):
    amount = forms.DecimalField(min_value=Decimal("0.01"), max_digits=10, decimal_places=2)
    reason = forms.CharField(max_length=500, widget=forms.Textarea(attrs={"rows": 3}))
    # Made when the form is shown and becomes the refund's idempotency key:
    # the same form posted twice (a double click, a reload) is one refund.
    token = forms.UUIDField(widget=forms.HiddenInput)


class CancelForm(forms.Form):
    reason = forms.CharField(max_length=500, widget=forms.Textarea(attrs={"rows": 3}))


@admin.register(Order)
class OrderAdmin(admin.ModelAdmin):
    list_display = ("number", "created_at", "status", "order_type", "where", "contact_email", "total")
    list_filter = ("status", "order_type", ("created_at", admin.DateFieldListFilter))
    search_fields = ("contact_email", "contact_name", "coupon_code")
    date_hierarchy = "created_at"
    inlines = [OrderItemInline, OrderEventInline]
    actions = ("cancel_orders", "record_payment_at_till", "refund_order")
    fieldsets = (
        (None, {"fields": ("status", "version", "order_type", "table_number", "delivery_address")}),
        ("Money", {"fields": ("subtotal", "discount", "coupon_code", "total")}),
        ("Customer", {"fields": ("customer", "contact_name", "contact_email", "contact_phone")}),
        (
            "Kitchen",
            {"fields": ("special_instructions", "promised_at", "slot_starts_at", "kitchen_release_at")},
        ),
        ("Record", {"fields": ("tracking_token", "idempotency_key", "created_at", "updated_at")}),
    )
    readonly_fields = (
        "status", "version", "order_type", "table_number", "delivery_address", "subtotal", "discount",
        "coupon_code", "total", "customer",
        "contact_name", "contact_email", "contact_phone", "special_instructions", "promised_at",
        "slot_starts_at", "kitchen_release_at", "tracking_token",
        "idempotency_key", "created_at", "updated_at",
    )  # fmt: skip

    def has_add_permission(self, request: HttpRequest) -> bool:
        # Orders come from checkout, never typed in.
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Order | None = None) -> bool:
        # The audit trail must outlive mistakes: cancel or refund instead.
        return False

    @admin.display(description="number", ordering="pk")
    def number(self, order: Order) -> str:
        return order.number

    @admin.display(description="total", ordering="total_minor")
    def total(self, order: Order) -> str:
        return format_money(order.total_minor, order.currency)

    @admin.display(description="subtotal")
    def subtotal(self, order: Order) -> str:
        return format_money(order.subtotal_minor, order.currency)

    @admin.display(description="discount")
    def discount(self, order: Order) -> str:
        return f"−{format_money(order.discount_minor, order.currency)}" if order.discount_minor else "—"

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[Order], search_term: str
    ) -> tuple[QuerySet[Order], bool]:
        results, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        number = search_term.strip().lstrip("#")
        if number.isdigit() and len(number) < 19:
            results |= queryset.filter(pk=int(number))
        return results, may_have_duplicates

    def _apply(self, request: HttpRequest, queryset: QuerySet[Order], change, done: str) -> None:
        actor = Actor.for_user(request.user)
        succeeded = 0
        for order in queryset.order_by("pk"):
            try:
                change(order, actor)
            except ApplicationError as error:
                self.message_user(request, f"Order {order.number}: {error.message}", messages.ERROR)
            else:
                succeeded += 1
        if succeeded:
            self.message_user(request, f"{succeeded} order(s) {done}.", messages.SUCCESS)

    @admin.action(description="Cancel selected orders (with a reason)…", permissions=["change"])
    def cancel_orders(self, request: HttpRequest, queryset: QuerySet[Order]) -> HttpResponse | None:
        form = CancelForm(request.POST if "apply" in request.POST else None)
        if form.is_valid():
            reason = form.cleaned_data["reason"]
            self._apply(
                request,
                queryset,
                lambda order, actor: order_cancel_by(order=order, actor=actor, reason=reason),
                "cancelled",
            )
            return None
        context = {
            **self.admin_site.each_context(request),
            "title": "Cancel orders",
            "orders": queryset,
            "form": form,
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "admin/orders/order/cancel_orders.html", context)

    @admin.action(description="Record payment taken at the till", permissions=["change"])
    def record_payment_at_till(self, request: HttpRequest, queryset: QuerySet[Order]) -> None:
        self._apply(
            request,
            queryset,
            lambda order, actor: order_mark_paid(order=order, actor=actor),
            "marked paid",
        )

    @admin.action(
        description="Refund (full or partial) through the payment provider…", permissions=["change"]
    )
    def refund_order(self, request: HttpRequest, queryset: QuerySet[Order]) -> HttpResponse | None:
        if queryset.count() != 1:
            self.message_user(request, "Refund one order at a time.", messages.ERROR)
            return None
        order = queryset.get()
        payment = order_refundable_payment(order=order)
        if payment is None:
            self.message_user(request, f"Order {order.number} has no payment to refund.", messages.ERROR)
            return None
        form = RefundForm(request.POST if "apply" in request.POST else None)
        if form.is_valid():
            try:
                amount = decimal_to_minor(form.cleaned_data["amount"], payment.taken_currency)
                refund, created = payment_refund(
                    payment_id=payment.pk,
                    amount_minor=amount,
                    actor=Actor.for_user(request.user),
                    reason=form.cleaned_data["reason"],
                    idempotency_key=f"admin-{form.cleaned_data['token']}",
                )
            except ValueError as error:
                form.add_error("amount", str(error))
            except ApplicationError as error:
                form.add_error(None, error.message)
            else:
                self._report_refund(request, order, refund, created=created)
                return None
        if not form.is_bound:
            form = RefundForm(
                initial={
                    "amount": minor_to_decimal(payment.refundable_minor, payment.taken_currency),
                    "token": uuid.uuid4(),
                }
            )
        context = {
            **self.admin_site.each_context(request),
            "title": f"Refund order {order.number}",
            "order": order,
            "payment": payment,
            "refundable": format_money(payment.refundable_minor, payment.taken_currency),
            "form": form,
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "admin/orders/order/refund_order.html", context)

    def _report_refund(self, request: HttpRequest, order: Order, refund: Refund, *, created: bool) -> None:
        money = format_money(refund.amount_minor, refund.payment.taken_currency)
        if not created:
            self.message_user(
                request,
                f"This refund form was sent before: it made the refund of {money} "
                f"({refund.get_status_display().lower()}). Open the form again for another refund.",
                messages.WARNING,
            )
        elif refund.status == RefundStatus.SUCCEEDED:
            self.message_user(request, f"Refunded {money} of order {order.number}.", messages.SUCCESS)
        elif refund.status == RefundStatus.FAILED:
            self.message_user(
                request,
                f"The provider refused the refund of {money} of order {order.number}: {refund.last_error}",
                messages.ERROR,
            )
        else:
            self.message_user(
                request,
                f"The refund of {money} of order {order.number} is recorded; the provider has not "
                "confirmed it yet, and it is asked again until it does.",
                messages.WARNING,
            )


# The rooms register their own models; importing them here is what makes the
# admin's autodiscovery (which imports orders.admin only) find them.
from orders.coupons import admin as coupons_admin  # noqa: E402, F401
from orders.floor import admin as floor_admin  # noqa: E402, F401
from orders.inventory import admin as inventory_admin  # noqa: E402, F401
from orders.outbox import admin as outbox_admin  # noqa: E402, F401
from orders.pacing import admin as pacing_admin  # noqa: E402, F401
from orders.partners import admin as partners_admin  # noqa: E402, F401
from orders.payments import admin as payments_admin  # noqa: E402, F401
from orders.tabs import admin as tabs_admin  # noqa: E402, F401
