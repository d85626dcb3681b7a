from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse

from accounts.roles import Actor
from menu.money import format_money
from orders.dead_letters import dead_letters_retry
from orders.models import DeadLetter, Order, OrderEvent, OrderItem, OrderStatus, OutboxEvent
from orders.services import order_cancel, order_transition
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
    fields = ("created_at", "from_status", "to_status", "actor_label", "reason")
    readonly_fields = fields


class CancelForm(forms.Form):
    reason = forms.CharField(max_length=500, widget=forms.Textarea(attrs={"rows": 3}))


@admin.register(Order)
class OrderAdmin(admin.ModelAdmin):
    list_display = ("number", "created_at", "status", "order_type", "where", "contact_email", "total")
    list_filter = ("status", "order_type", ("created_at", admin.DateFieldListFilter))
    search_fields = ("contact_email", "contact_name")
    date_hierarchy = "created_at"
    inlines = [OrderItemInline, OrderEventInline]
    actions = ("cancel_orders", "record_payment_at_till")
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
                lambda order, actor: order_cancel(order=order, actor=actor, reason=reason),
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
            lambda order, actor: order_transition(
                order=order, to_status=OrderStatus.PAID, actor=actor, reason="payment taken at the till"
            ),
            "marked paid",
        )


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
