"""Orders: what a customer bought, at the price and with the choices of that moment.

An order never reads the menu again after it is placed: names, prices and
chosen modifiers are copied onto it, so editing or deleting a menu item never
changes a past order or its total.
"""

from __future__ import annotations

import secrets

from django.conf import settings
from django.db import models
from django.db.models.functions import Coalesce
from django.urls import reverse

from orders.partner_urls import validate_partner_url


def new_tracking_token() -> str:
    # 256 bits: the link is the guest's only credential for their order.
    return secrets.token_urlsafe(32)


class OrderStatus(models.TextChoices):
    # Placed and priced; waiting for the customer's payment to be confirmed.
    AWAITING_PAYMENT = "awaiting_payment", "Placed, awaiting payment"
    # Payment confirmed; the kitchen may now see and cook it.
    PAID = "paid", "Paid"
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


SPECIAL_INSTRUCTIONS_MAX_LENGTH = 500


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
    order_type = models.CharField(max_length=16, choices=OrderType.choices)
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
    total_minor = models.PositiveIntegerField()

    # One checkout submission makes at most one order, however often it is sent.
    idempotency_key = models.CharField(max_length=80, unique=True, null=True, blank=True)

    # Set when the confirmation email went out: it goes out once per order.
    confirmation_sent_at = models.DateTimeField(null=True, blank=True, editable=False)
    # Set when the customer was told of the cancellation: also once per order.
    cancellation_sent_at = models.DateTimeField(null=True, blank=True, editable=False)

    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ("-created_at",)
        indexes = [models.Index(fields=("status", "created_at"))]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(status__in=OrderStatus.values), name="order_status_valid"
            ),
            models.CheckConstraint(
                condition=models.Q(order_type__in=OrderType.values), name="order_type_valid"
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


class OutboxEvent(models.Model):
    """A domain event, written in the same transaction as the change it announces.

    The relay publishes it after commit (and a periodic sweep catches any the
    process died before publishing), so "order paid" reaches the kitchen, the
    email and the partners even if the web process crashes right after the
    payment commits. Publishing twice is harmless: every consumer is idempotent.
    """

    topic = models.CharField(max_length=64)
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="outbox_events")
    payload = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    published_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ("created_at", "id")
        indexes = [models.Index(fields=("published_at", "created_at"), name="outbox_unpublished")]

    def __str__(self) -> str:
        return f"{self.topic} #{self.order_id}"


class DeadLetter(models.Model):
    """A task that failed its last try, kept for a person to look at and retry."""

    task_name = models.CharField(max_length=200)
    task_id = models.CharField(max_length=64, blank=True)
    args = models.JSONField(default=list, blank=True)
    kwargs = models.JSONField(default=dict, blank=True)
    error = models.CharField(max_length=1000)
    attempts = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField(auto_now_add=True)
    retried_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ("-created_at",)
        verbose_name = "dead letter"

    def __str__(self) -> str:
        return f"{self.task_name} ({self.created_at:%Y-%m-%d %H:%M})"


class PaymentStatus(models.TextChoices):
    # Created at the provider; the customer has not finished paying.
    PENDING = "pending", "Pending"
    # The provider confirmed the money.
    SUCCEEDED = "succeeded", "Succeeded"
    # Declined, abandoned or expired at the provider; the customer may try again.
    FAILED = "failed", "Failed"
    # The provider took another amount or currency than this payment asked for:
    # the order stays unpaid, managers are alerted and what arrived goes back.
    # The status stays, refunded or not, so the mismatch remains findable.
    MISMATCHED = "mismatched", "Amount mismatch"
    # Some of the money went back.
    PARTIALLY_REFUNDED = "partially_refunded", "Partially refunded"
    # All of the money went back.
    REFUNDED = "refunded", "Refunded"


class Payment(models.Model):
    """One attempt to pay an order at a provider. An order may have several (a retry after a decline)."""

    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="payments")
    provider = models.CharField(max_length=32)
    # The provider's id for this attempt (a checkout session, a payment intent).
    provider_ref = models.CharField(max_length=200)
    # What we asked the provider to take.
    amount_minor = models.PositiveIntegerField()
    currency = models.CharField(max_length=3)
    # What the provider's success event says it took; refunds never exceed it.
    received_minor = models.PositiveIntegerField(null=True, blank=True)
    received_currency = models.CharField(max_length=3, blank=True)
    status = models.CharField(max_length=24, choices=PaymentStatus.choices, default=PaymentStatus.PENDING)
    # Confirmed by the provider: the sum of this payment's succeeded refunds.
    refunded_minor = models.PositiveIntegerField(default=0)
    # Asked of the provider and not confirmed yet (pending refunds). Reserved
    # under the payment's row lock before the provider is called, so refunds
    # made at the same moment can never together exceed what was taken.
    refund_reserved_minor = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ("-created_at",)
        constraints = [
            models.UniqueConstraint(fields=("provider", "provider_ref"), name="payment_unique_provider_ref"),
            models.CheckConstraint(
                condition=models.Q(
                    refunded_minor__lte=Coalesce(models.F("received_minor"), models.F("amount_minor"))
                    - models.F("refund_reserved_minor")
                ),
                name="payment_refunds_within_taken",
            ),
            models.CheckConstraint(
                condition=models.Q(status__in=PaymentStatus.values), name="payment_status_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.provider} {self.provider_ref} ({self.status})"

    @property
    def taken_minor(self) -> int:
        """What the provider took: what it reported, or what we asked if it never said."""
        return self.amount_minor if self.received_minor is None else self.received_minor

    @property
    def taken_currency(self) -> str:
        return self.received_currency or self.currency

    @property
    def refundable_minor(self) -> int:
        from orders.state import REFUNDABLE_PAYMENT_STATUSES  # state reads the status enums from here

        if self.status not in REFUNDABLE_PAYMENT_STATUSES:
            return 0
        return self.taken_minor - self.refunded_minor - self.refund_reserved_minor


class PaymentWebhookEvent(models.Model):
    """Every provider event we accepted, by its id: the same event twice has its effect once."""

    provider = models.CharField(max_length=32)
    event_id = models.CharField(max_length=200)
    event_type = models.CharField(max_length=64)
    payment = models.ForeignKey(
        Payment, null=True, blank=True, on_delete=models.SET_NULL, related_name="events"
    )
    outcome = models.CharField(max_length=64, blank=True)
    received_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ("-received_at",)
        constraints = [
            models.UniqueConstraint(fields=("provider", "event_id"), name="paymentwebhookevent_unique_event")
        ]

    def __str__(self) -> str:
        return f"{self.provider} {self.event_type} {self.event_id}"


class RefundStatus(models.TextChoices):
    # Owed and reserved against the payment; the provider has not confirmed it
    # (not asked yet, being asked, or its answer was lost). Retried with the
    # same idempotency key until it is one of the two below.
    PENDING = "pending", "Pending"
    # The provider confirmed it; provider_ref is the provider's refund id.
    SUCCEEDED = "succeeded", "Succeeded"
    # The provider refused it for good; its reservation was released.
    FAILED = "failed", "Failed"


class Refund(models.Model):
    """Money owed back on one payment: reserved first, then asked of the provider, once."""

    payment = models.ForeignKey(Payment, on_delete=models.PROTECT, related_name="refunds")
    amount_minor = models.PositiveIntegerField()
    status = models.CharField(max_length=16, choices=RefundStatus.choices, default=RefundStatus.PENDING)
    # Sent to the provider on every try: however often this refund is retried,
    # the provider pays it once. Also what makes a resubmitted request find
    # this refund instead of making another.
    idempotency_key = models.CharField(max_length=100, unique=True)
    # The provider's refund id, once it confirmed.
    provider_ref = models.CharField(max_length=200, blank=True)
    reason = models.CharField(max_length=500)
    actor_label = models.CharField(max_length=150)
    attempts = models.PositiveIntegerField(default=0)
    # One process asks the provider at a time; a claim that outlives its
    # process (a crash) expires, and the sweep asks again.
    claimed_until = models.DateTimeField(null=True, blank=True)
    # "PaymentsUnavailable: …": what the provider last said, never a secret.
    last_error = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ("-created_at",)
        constraints = [
            models.CheckConstraint(condition=models.Q(amount_minor__gt=0), name="refund_positive"),
            models.CheckConstraint(
                condition=models.Q(status__in=RefundStatus.values), name="refund_status_valid"
            ),
            # The provider pays one refund per id: two rows with one id would book it twice.
            models.UniqueConstraint(
                fields=("provider_ref",),
                condition=~models.Q(provider_ref=""),
                name="refund_unique_provider_ref",
            ),
            models.CheckConstraint(
                condition=~models.Q(status="succeeded", provider_ref=""),
                name="refund_succeeded_has_provider_ref",
            ),
        ]
        indexes = [models.Index(fields=("status", "created_at"), name="refund_pending")]

    def __str__(self) -> str:
        return f"Refund {self.amount_minor} of {self.payment} ({self.status})"


# ---------------------------------------------------------------- partner webhooks


class PartnerTopic(models.TextChoices):
    # The events a delivery partner may subscribe to; each is an outbox topic.
    ORDER_PAID = "order.paid", "Order paid"
    ORDER_READY = "order.ready", "Order ready"
    ORDER_CANCELLED = "order.cancelled", "Order cancelled"


def new_partner_secret() -> str:
    # 256 bits, shared with the partner only: it signs every webhook we send them.
    return secrets.token_urlsafe(32)


def new_delivery_public_id():
    # Imported here, like ValidationError below, so this section is self-contained.
    import uuid

    return uuid.uuid4()


def validate_partner_events(value: object) -> None:
    from django.core.exceptions import ValidationError

    if not isinstance(value, list) or not all(isinstance(topic, str) for topic in value):
        raise ValidationError("Events must be a list of event names.", code="invalid")
    unknown = sorted(set(value) - set(PartnerTopic.values))
    if unknown:
        raise ValidationError(
            "Unknown event(s): %(unknown)s.", code="unknown_event", params={"unknown": ", ".join(unknown)}
        )


class Partner(models.Model):
    """A delivery partner that receives signed webhooks about the orders it subscribed to."""

    name = models.CharField(max_length=100)
    url = models.URLField("webhook URL", max_length=500, validators=[validate_partner_url])
    secret = models.CharField(max_length=64, default=new_partner_secret)
    # A subset of PartnerTopic, e.g. ["order.paid", "order.ready"].
    events = models.JSONField(default=list, blank=True, validators=[validate_partner_events])
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ("name", "id")

    def __str__(self) -> str:
        return self.name

    def is_subscribed(self, topic: str) -> bool:
        return self.is_active and topic in (self.events or [])


class PartnerDeliveryStatus(models.TextChoices):
    # Waiting for its first try, or between retries.
    PENDING = "pending", "Pending"
    # The partner answered 2xx; never sent again.
    DELIVERED = "delivered", "Delivered"
    # Every try failed; dead-lettered until someone resends it.
    FAILED = "failed", "Failed (dead)"


class PartnerDelivery(models.Model):
    """One outbox event sent to one partner: the delivery log, one row per (partner, event)."""

    partner = models.ForeignKey(Partner, on_delete=models.PROTECT, related_name="deliveries")
    outbox_event = models.ForeignKey(OutboxEvent, on_delete=models.PROTECT, related_name="partner_deliveries")
    # What the partner sees as the event id (Brigade-Event-Id): the same on
    # every retry and resend, so the partner can drop duplicates.
    public_id = models.UUIDField(default=new_delivery_public_id, unique=True, editable=False)
    topic = models.CharField(max_length=64, choices=PartnerTopic.choices)
    # The body's data, fixed when the delivery was created: every try sends the same event.
    payload = models.JSONField(default=dict, blank=True)
    status = models.CharField(
        max_length=16, choices=PartnerDeliveryStatus.choices, default=PartnerDeliveryStatus.PENDING
    )
    attempts = models.PositiveIntegerField(default=0)
    last_status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    # "HTTP 503 Service Unavailable", "ConnectTimeout": never a URL, header or secret.
    last_error = models.CharField(max_length=200, blank=True)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ("-created_at", "-id")
        verbose_name_plural = "partner deliveries"
        constraints = [
            models.UniqueConstraint(
                fields=("partner", "outbox_event"), name="partnerdelivery_once_per_event"
            ),
            models.CheckConstraint(
                condition=models.Q(status__in=PartnerDeliveryStatus.values),
                name="partnerdelivery_status_valid",
            ),
        ]
        indexes = [models.Index(fields=("status", "next_attempt_at"), name="partnerdelivery_due")]

    def __str__(self) -> str:
        return f"{self.topic} #{self.outbox_event.order_id} → {self.partner}"
