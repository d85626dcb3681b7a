from __future__ import annotations

import json
import uuid
from decimal import Decimal
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.db import models
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.utils.html import format_html

from accounts.roles import Actor
from menu.money import decimal_to_minor, format_money, minor_to_decimal
from orders.checkout import order_cancel_by
from orders.dead_letters import dead_letters_retry
from orders.models import (
    DeadLetter,
    Order,
    OrderEvent,
    OrderItem,
    OutboxEvent,
    Partner,
    PartnerDelivery,
    PartnerTopic,
    Payment,
    Refund,
    RefundStatus,
)
from orders.partners import partner_delivery_resend, partner_secret_rotate
from orders.payments.services import payment_refund
from orders.selectors import order_refundable_payment
from orders.services import order_mark_paid
from restaurant.errors import ApplicationError


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Order | None = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Order | None = None) -> bool:
        return False


class OrderItemInline(ReadOnlyInline):
    model = OrderItem
    fields = ("quantity", "name", "modifier_text", "unit_price", "line_total")
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


def _received(payment: Payment) -> str:
    if payment.received_minor is None:
        return "—"
    if payment.received_currency != payment.currency.upper():
        # Not ours to format: a currency the order was never priced in.
        return f"{payment.received_minor} minor units of {payment.received_currency or '?'}"
    return format_money(payment.received_minor, payment.received_currency)


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
    search_fields = ("contact_email", "contact_name")
    date_hierarchy = "created_at"
    inlines = [OrderItemInline, OrderEventInline]
    actions = ("cancel_orders", "record_payment_at_till", "refund_order")
    fieldsets = (
        (None, {"fields": ("status", "version", "order_type", "table_number", "delivery_address", "total")}),
        ("Customer", {"fields": ("customer", "contact_name", "contact_email", "contact_phone")}),
        ("Kitchen", {"fields": ("special_instructions",)}),
        ("Record", {"fields": ("tracking_token", "idempotency_key", "created_at", "updated_at")}),
    )
    readonly_fields = (
        "status", "version", "order_type", "table_number", "delivery_address", "total", "customer",
        "contact_name", "contact_email", "contact_phone", "special_instructions", "tracking_token",
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
        return _received(payment)

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


# ---------------------------------------------------------------- partner webhooks

RECENT_DELIVERIES = 20


def _https_by_default(field: models.Field, **kwargs: Any) -> forms.Field | None:
    # A URL typed without a scheme is taken as https (Django 6's default).
    if isinstance(field, models.URLField):
        kwargs.setdefault("assume_scheme", "https")
    return field.formfield(**kwargs)


class PartnerForm(forms.ModelForm):
    events = forms.MultipleChoiceField(
        choices=PartnerTopic.choices,
        widget=forms.CheckboxSelectMultiple,
        required=False,
        help_text="The events this partner is sent.",
    )

    class Meta:
        model = Partner
        fields = ("name", "url", "events", "is_active")
        formfield_callback = _https_by_default


class RecentDeliveriesFormSet(forms.BaseInlineFormSet):
    def get_queryset(self) -> QuerySet[PartnerDelivery]:
        # A busy partner has thousands of deliveries; its page shows the latest.
        if not hasattr(self, "_recent"):
            self._recent = super().get_queryset().select_related("outbox_event")[:RECENT_DELIVERIES]
        return self._recent


class RecentDeliveryInline(ReadOnlyInline):
    model = PartnerDelivery
    formset = RecentDeliveriesFormSet
    verbose_name_plural = f"recent deliveries (latest {RECENT_DELIVERIES})"
    fields = ("created_at", "topic", "order_number", "status", "attempts", "last_status_code", "last_error")
    readonly_fields = fields
    show_change_link = True

    @admin.display(description="order")
    def order_number(self, delivery: PartnerDelivery) -> str:
        return f"#{delivery.outbox_event.order_id}"


def _show_secret_once(
    modeladmin: admin.ModelAdmin, request: HttpRequest, partner: Partner, secret: str
) -> None:
    modeladmin.message_user(
        request,
        f"The signing secret of {partner.name} is {secret} — give it to the partner now: "
        "it is not shown again.",
        messages.WARNING,
    )


@admin.register(Partner)
class PartnerAdmin(admin.ModelAdmin):
    form = PartnerForm
    # Admin builds the form's fields itself: the same https default here.
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}
    list_display = ("name", "url", "subscribed", "is_active", "created_at")
    list_filter = ("is_active",)
    search_fields = ("name", "url")
    fieldsets = (
        (None, {"fields": ("name", "url", "events", "is_active")}),
        ("Signing", {"fields": ("secret_hint", "created_at")}),
    )
    readonly_fields = ("secret_hint", "created_at")
    inlines = [RecentDeliveryInline]
    actions = ("rotate_secret",)

    @admin.display(description="events")
    def subscribed(self, partner: Partner) -> str:
        return ", ".join(partner.events or []) or "—"

    @admin.display(description="secret")
    def secret_hint(self, partner: Partner) -> str:
        # The secret itself is shown once, when it is made (added or rotated).
        if partner.pk is None:
            return "Generated when the partner is saved, and shown once."
        return f"…{partner.secret[-4:]} (rotate it to see a new one)"

    def response_add(
        self, request: HttpRequest, obj: Partner, post_url_continue: str | None = None
    ) -> HttpResponse:
        _show_secret_once(self, request, obj, obj.secret)
        return super().response_add(request, obj, post_url_continue)

    @admin.action(description="Rotate secret (the new one is shown once)", permissions=["change"])
    def rotate_secret(self, request: HttpRequest, queryset: QuerySet[Partner]) -> None:
        for partner in queryset.order_by("pk"):
            _show_secret_once(self, request, partner, partner_secret_rotate(partner=partner))


@admin.register(PartnerDelivery)
class PartnerDeliveryAdmin(admin.ModelAdmin):
    """The delivery log: every event sent to every partner, how it went, and a resend."""

    list_display = (
        "created_at", "partner", "topic", "order_number", "status", "attempts", "last_status_code",
        "last_error", "delivered_at",
    )  # fmt: skip
    list_filter = ("status", "topic", "partner")
    list_select_related = ("partner", "outbox_event")
    search_fields = ("partner__name",)
    date_hierarchy = "created_at"
    fields = (
        "partner", "topic", "order_number", "status", "attempts", "last_status_code", "last_error",
        "next_attempt_at", "delivered_at", "created_at", "public_id", "body",
    )  # fmt: skip
    readonly_fields = fields
    actions = ("resend",)

    def has_add_permission(self, request: HttpRequest) -> bool:
        # Deliveries come from events, never typed in.
        return False

    def has_delete_permission(self, request: HttpRequest, obj: PartnerDelivery | None = None) -> bool:
        return False

    @admin.display(description="order", ordering="outbox_event__order_id")
    def order_number(self, delivery: PartnerDelivery) -> str:
        return f"#{delivery.outbox_event.order_id}"

    @admin.display(description="body")
    def body(self, delivery: PartnerDelivery) -> str:
        return format_html("<pre>{}</pre>", json.dumps(delivery.payload, indent=2, ensure_ascii=False))

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[PartnerDelivery], search_term: str
    ) -> tuple[QuerySet[PartnerDelivery], bool]:
        results, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        number = search_term.strip().lstrip("#")
        if number.isdigit() and len(number) < 19:
            results |= queryset.filter(outbox_event__order_id=int(number))
        return results, may_have_duplicates

    @admin.action(description="Resend selected", permissions=["change"])
    def resend(self, request: HttpRequest, queryset: QuerySet[PartnerDelivery]) -> None:
        ids = list(queryset.values_list("pk", flat=True))
        sent = partner_delivery_resend(delivery_ids=ids)
        if sent:
            self.message_user(request, f"{sent} delivery(ies) sent again.", messages.SUCCESS)
        if len(ids) > sent:
            self.message_user(
                request,
                f"{len(ids) - sent} left alone: only failed deliveries are resent "
                "(a delivered one never goes twice, a pending one is still being tried).",
                messages.WARNING,
            )
