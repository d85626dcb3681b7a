"""Payments: attempts to pay an order at a provider, the provider's events, and refunds."""

from __future__ import annotations

from django.db import models
from django.db.models.functions import Coalesce


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


# Payments that paid their order (a mismatched one never does). Imported by
# code through orders.state, the one home of status sets.
PAYMENT_PAID_STATUSES = frozenset({PaymentStatus.SUCCEEDED, PaymentStatus.PARTIALLY_REFUNDED})
# Money was taken: refunds may be made against these.
REFUNDABLE_PAYMENT_STATUSES = frozenset({*PAYMENT_PAID_STATUSES, PaymentStatus.MISMATCHED})


class Payment(models.Model):
    """One attempt to pay an order, or a table's whole tab, at a provider; either may have several."""

    # Exactly one of the two: what this payment pays.
    order = models.ForeignKey(
        "orders.Order", null=True, blank=True, on_delete=models.PROTECT, related_name="payments"
    )
    # A table's tab paid online as a whole (orders.tabs): its rounds are not paid one by one.
    tab = models.ForeignKey(
        "orders.Tab", null=True, blank=True, on_delete=models.PROTECT, related_name="payments"
    )
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
            models.CheckConstraint(
                condition=models.Q(order__isnull=False, tab__isnull=True)
                | models.Q(order__isnull=True, tab__isnull=False),
                name="payment_pays_an_order_or_a_tab",
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
    # The customer's "money refunded" email, sent once (orders.notifications), like an order's emails.
    email_sent_at = models.DateTimeField(null=True, blank=True, editable=False)
    email_claimed_until = models.DateTimeField(null=True, blank=True, editable=False)

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
