"""Orders: what a customer bought, at the price and with the choices of that moment.

An order never reads the menu again after it is placed: names, prices and
chosen modifiers are copied onto it, so editing or deleting a menu item never
changes a past order or its total.
"""

from __future__ import annotations

import secrets

from django.conf import settings
from django.db import models
from django.urls import reverse
from django.utils import timezone


def new_tracking_token() -> str:
    # 256 bits: the link is the guest's only credential for their order.
    return secrets.token_urlsafe(32)


class OrderStatus(models.TextChoices):
    # Placed and priced; waiting for the customer's payment to be confirmed.
    AWAITING_PAYMENT = "awaiting_payment", "Placed, awaiting payment"
    # Payment confirmed; the kitchen may now see and cook it.
    PAID = "paid", "Paid"
    # A table's order a waiter put on the table's tab (orders.tabs): the kitchen
    # sees it like a paid one; the money is taken when the table pays its bill.
    ON_TAB = "on_tab", "On the table's tab"
    # A chef has started cooking.
    IN_PREPARATION = "in_preparation", "In preparation"
    # Cooked and waiting at the pass for pickup, service or a driver.
    READY = "ready", "Ready"
    # Handed over: served, picked up or delivered.
    COMPLETED = "completed", "Completed"
    # Stopped before any money was taken.
    CANCELLED = "cancelled", "Cancelled"
    # Money returned after payment.
    REFUNDED = "refunded", "Refunded"


class OrderType(models.TextChoices):
    DINE_IN = "dine_in", "Dine in"
    PICKUP = "pickup", "Pickup"
    DELIVERY = "delivery", "Delivery"


class HandOver(models.TextChoices):
    # A table's order carried to its table.
    SERVED = "served", "Served"
    # A pickup order given to its customer at the counter.
    PICKED_UP = "picked_up", "Picked up"
    # A delivery order given to the driver.
    OUT_FOR_DELIVERY = "out_for_delivery", "Out for delivery"


# The one way each type of order leaves the pass.
HAND_OVER_BY_TYPE: dict[str, HandOver] = {
    OrderType.DINE_IN: HandOver.SERVED,
    OrderType.PICKUP: HandOver.PICKED_UP,
    OrderType.DELIVERY: HandOver.OUT_FOR_DELIVERY,
}


def hand_over_way(order: Order) -> HandOver:
    """How this order leaves the pass: the button the expo and the floor show for it."""
    return HAND_OVER_BY_TYPE[order.order_type]


SPECIAL_INSTRUCTIONS_MAX_LENGTH = 500
# A note on one line ("no onions"): one short line the station that cooks it reads at a glance.
LINE_NOTE_MAX_LENGTH = 140


class Order(models.Model):
    tracking_token = models.CharField(max_length=64, unique=True, default=new_tracking_token, editable=False)
    customer = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="orders",
        help_text="Empty for a guest order.",
    )
    # The waiter who took a table's order; empty when the guest ordered.
    placed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="orders_taken",
    )
    # The delivery partner that placed the order for its customer over the API.
    partner = models.ForeignKey(
        "orders.Partner", null=True, blank=True, on_delete=models.PROTECT, related_name="orders"
    )
    order_type = models.CharField(max_length=16, choices=OrderType.choices)
    # A dine-in order's table (orders.floor), and its label as it was when the
    # order was placed: renaming a table never changes what a past order says.
    # Orders from before tables were rows keep only the label.
    table = models.ForeignKey(
        "orders.Table",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="orders",
        editable=False,
    )
    table_number = models.CharField(max_length=10, blank=True)
    delivery_address = models.TextField(max_length=500, blank=True)
    contact_name = models.CharField(max_length=100)
    contact_email = models.EmailField()
    contact_phone = models.CharField(max_length=32, blank=True)
    special_instructions = models.TextField(max_length=SPECIAL_INSTRUCTIONS_MAX_LENGTH, blank=True)

    status = models.CharField(
        max_length=20, choices=OrderStatus.choices, default=OrderStatus.AWAITING_PAYMENT
    )
    # Bumped by every transition; a change made against a stale version loses.
    version = models.PositiveIntegerField(default=1)

    currency = models.CharField(max_length=3)
    subtotal_minor = models.PositiveIntegerField()
    # What a coupon took off the subtotal (orders.coupons); the total is what the customer pays.
    discount_minor = models.PositiveIntegerField(default=0)
    total_minor = models.PositiveIntegerField()
    # The coupon the order used, and its code as it was: the order is one of its uses
    # until it is cancelled or refunded. The email is the contact email normalized,
    # which the per-customer limit counts for guests (orders.coupons.selectors).
    coupon = models.ForeignKey(
        "orders.Coupon",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="orders",
        editable=False,
    )
    coupon_code = models.CharField(max_length=32, blank=True, editable=False)
    coupon_email = models.CharField(max_length=254, blank=True, editable=False)

    # One checkout submission makes at most one order, however often it is sent.
    idempotency_key = models.CharField(max_length=80, unique=True, null=True, blank=True)

    # Set when the confirmation email went out: it goes out once per order.
    confirmation_sent_at = models.DateTimeField(null=True, blank=True, editable=False)
    # Set when the customer was told of the cancellation: also once per order.
    cancellation_sent_at = models.DateTimeField(null=True, blank=True, editable=False)
    # Until when a worker has claimed sending that email: it sends outside any
    # transaction, and a claim its worker did not live to finish expires.
    confirmation_claimed_until = models.DateTimeField(null=True, blank=True, editable=False)
    cancellation_claimed_until = models.DateTimeField(null=True, blank=True, editable=False)
    # The same pair for the "ready for pickup" email (orders.notifications).
    ready_sent_at = models.DateTimeField(null=True, blank=True, editable=False)
    ready_claimed_until = models.DateTimeField(null=True, blank=True, editable=False)

    # Kitchen pacing (orders.pacing): the 15-minute slot the order counts against,
    # the ready time the customer was promised, and for an order scheduled for
    # later the moment it may reach the kitchen's board (empty: at once, when paid).
    slot_starts_at = models.DateTimeField(null=True, blank=True, db_index=True, editable=False)
    promised_at = models.DateTimeField("promised for", null=True, blank=True, editable=False)
    kitchen_release_at = models.DateTimeField(null=True, blank=True, editable=False)

    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ("-created_at",)
        indexes = [
            models.Index(fields=("status", "created_at")),
            # The release sweep looks for scheduled orders only, a small part of all orders.
            models.Index(
                fields=("kitchen_release_at",),
                condition=models.Q(kitchen_release_at__isnull=False),
                name="order_scheduled_release",
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(status__in=OrderStatus.values), name="order_status_valid"
            ),
            models.CheckConstraint(
                condition=models.Q(order_type__in=OrderType.values), name="order_type_valid"
            ),
            models.CheckConstraint(
                condition=models.Q(total_minor=models.F("subtotal_minor") - models.F("discount_minor")),
                name="order_total_is_subtotal_less_discount",
            ),
        ]

    def __str__(self) -> str:
        return f"Order {self.number}"

    def get_absolute_url(self) -> str:
        return reverse("orders:detail", kwargs={"token": self.tracking_token})

    @property
    def number(self) -> str:
        """What the customer and the kitchen call the order."""
        return f"#{self.pk}" if self.pk else "#—"

    def can_customer_cancel(self) -> bool:
        """Customers may call an order off until the kitchen starts it (paid: refunded)."""
        return self.placed_by_id is None and self.status in (OrderStatus.AWAITING_PAYMENT, OrderStatus.PAID)

    def is_guest_order(self) -> bool:
        return self.customer_id is None

    def is_scheduled(self) -> bool:
        """The customer picked a later time: the kitchen gets it before that time, not when paid."""
        return self.kitchen_release_at is not None

    def promise_text(self) -> str:
        """The promised time as the kitchen's ticket shows it, in the restaurant's time zone."""
        if self.promised_at is None:
            return ""
        at = timezone.localtime(self.promised_at).strftime("%H:%M")
        return f"Scheduled {at}" if self.is_scheduled() else f"Promised {at}"

    def hand_over_label(self) -> str:
        """This order's button at the pass, on the floor and at expo: Served, Picked up, Out for delivery."""
        return str(hand_over_way(self).label)

    def where(self) -> str:
        if self.order_type == OrderType.DINE_IN:
            return f"Table {self.table_number}"
        return self.get_order_type_display()


class OrderItem(models.Model):
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="items")
    menu_item = models.ForeignKey(
        "menu.MenuItem", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    name = models.CharField(max_length=120)
    base_price_minor = models.PositiveIntegerField()
    # Base price plus every chosen modifier's price change.
    unit_price_minor = models.PositiveIntegerField()
    quantity = models.PositiveSmallIntegerField()
    line_total_minor = models.PositiveIntegerField()
    # [{"group": "Cooking", "option": "Medium", "option_id": 7, "price_delta_minor": 0}]
    modifiers = models.JSONField(default=list, blank=True)
    # The customer's note on this line; only the station that cooks the line sees it.
    note = models.CharField(max_length=LINE_NOTE_MAX_LENGTH, blank=True)

    class Meta:
        ordering = ("id",)
        constraints = [
            models.CheckConstraint(condition=models.Q(quantity__gte=1), name="orderitem_quantity_positive")
        ]

    def __str__(self) -> str:
        return f"{self.quantity} × {self.name}"

    def modifier_text(self) -> str:
        return ", ".join(m["option"] for m in self.modifiers)


class OrderEventKind(models.TextChoices):
    # The order moved from from_status to to_status.
    STATUS_CHANGED = "status_changed", "Status changed"
    # Someone asked for money to go back; data says which refund and how much.
    REFUND_REQUESTED = "refund_requested", "Refund requested"
    # The provider confirmed a refund; data carries its refund id.
    REFUND_SUCCEEDED = "refund_succeeded", "Refund confirmed"
    # The provider refused a refund for good; the money was not returned.
    REFUND_FAILED = "refund_failed", "Refund failed"
    # The order's tab was paid as a whole; data says which tab, how and how much.
    TAB_SETTLED = "tab_settled", "Tab paid"


class OrderEvent(models.Model):
    """The audit trail: one row for every status change and every refund, with who and why."""

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(
        max_length=24, choices=OrderEventKind.choices, default=OrderEventKind.STATUS_CHANGED
    )
    from_status = models.CharField(max_length=20, blank=True, choices=OrderStatus.choices)
    # Empty for an event that is not a status change (a refund).
    to_status = models.CharField(max_length=20, blank=True, choices=OrderStatus.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Kept even if the user is deleted: "manager@…", "guest", "system:payments".
    actor_label = models.CharField(max_length=150)
    reason = models.CharField(max_length=500, blank=True)
    # What a non-status event is about: {"refund_id": 7, "amount_minor": 550, "currency": "EUR", ...}.
    data = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ("created_at", "id")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(kind__in=OrderEventKind.values), name="orderevent_kind_valid"
            ),
            # A status change always says where the order went.
            models.CheckConstraint(
                condition=~models.Q(kind="status_changed", to_status=""), name="orderevent_status_has_target"
            ),
        ]

    def __str__(self) -> str:
        if self.kind != OrderEventKind.STATUS_CHANGED:
            return f"{self.get_kind_display()} by {self.actor_label}"
        return f"{self.from_status or 'new'} → {self.to_status} by {self.actor_label}"


# The rooms' models live in their packages; importing them here registers them
# with the app and keeps `orders.models.X` (migrations, other apps) working.
from orders.coupons.models import Coupon, CouponKind  # noqa: E402
from orders.floor.models import FloorClock, Table  # noqa: E402
from orders.idempotency import IdempotencyRecord  # noqa: E402
from orders.inventory.models import InventoryReport  # noqa: E402
from orders.outbox.models import DeadLetter, OutboxEvent  # noqa: E402
from orders.pacing.models import KitchenPacing, OpeningHours, PacingSlot  # noqa: E402
from orders.partners.models import (  # noqa: E402
    Partner,
    PartnerAPIKey,
    PartnerDelivery,
    PartnerDeliveryStatus,
    PartnerTopic,
    new_delivery_public_id,
    new_partner_secret,
    validate_api_scopes,
    validate_partner_events,
)
from orders.payments.models import (  # noqa: E402
    Payment,
    PaymentStatus,
    PaymentWebhookEvent,
    Refund,
    RefundStatus,
)
from orders.tabs.models import Tab, TabPaymentMethod, TabRound, TabStatus  # noqa: E402

__all__ = [
    "LINE_NOTE_MAX_LENGTH",
    "SPECIAL_INSTRUCTIONS_MAX_LENGTH",
    "Coupon",
    "CouponKind",
    "DeadLetter",
    "FloorClock",
    "IdempotencyRecord",
    "InventoryReport",
    "KitchenPacing",
    "OpeningHours",
    "Order",
    "OrderEvent",
    "OrderEventKind",
    "OrderItem",
    "OrderStatus",
    "OrderType",
    "OutboxEvent",
    "PacingSlot",
    "Partner",
    "PartnerAPIKey",
    "PartnerDelivery",
    "PartnerDeliveryStatus",
    "PartnerTopic",
    "Payment",
    "PaymentStatus",
    "PaymentWebhookEvent",
    "Refund",
    "RefundStatus",
    "Tab",
    "TabPaymentMethod",
    "TabRound",
    "TabStatus",
    "Table",
    "new_delivery_public_id",
    "new_partner_secret",
    "new_tracking_token",
    "validate_api_scopes",
    "validate_partner_events",
]
