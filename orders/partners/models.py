"""Delivery partners and the log of the signed webhooks sent to them."""

from __future__ import annotations

import secrets
import uuid

from django.db import models
from rest_framework_api_key.models import AbstractAPIKey

from accounts.roles import Actor
from orders.partners.url_checks import validate_partner_url
from restaurant.api.clients import ApiScope


class PartnerTopic(models.TextChoices):
    # The events a delivery partner may subscribe to; each is an outbox topic.
    ORDER_PAID = "order.paid", "Order paid"
    ORDER_READY = "order.ready", "Order ready"
    ORDER_CANCELLED = "order.cancelled", "Order cancelled"


def new_partner_secret() -> str:
    # 256 bits, shared with the partner only: it signs every webhook we send them.
    return secrets.token_urlsafe(32)


def new_delivery_public_id() -> uuid.UUID:
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
    outbox_event = models.ForeignKey(
        "orders.OutboxEvent", on_delete=models.PROTECT, related_name="partner_deliveries"
    )
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
    # Until when a worker has claimed sending it: the request is made outside
    # any transaction, and a claim its worker did not live to finish expires.
    claimed_until = models.DateTimeField(null=True, blank=True, editable=False)
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


def validate_api_scopes(value: object) -> None:
    from django.core.exceptions import ValidationError

    if not isinstance(value, list) or not all(isinstance(scope, str) for scope in value):
        raise ValidationError("Scopes must be a list of scope names.", code="invalid")
    unknown = sorted(set(value) - set(ApiScope.values))
    if unknown:
        raise ValidationError(
            "Unknown scope(s): %(unknown)s.", code="unknown_scope", params={"unknown": ", ".join(unknown)}
        )


class PartnerAPIKey(AbstractAPIKey):
    """A partner's key to the API (djangorestframework-api-key).

    Only a SHA-512 hash of the key is stored; the key itself is shown once, in
    admin, when a manager makes it. Its prefix (the part before the dot) is
    public: it names the key in admin, in logs and in its rate-limit budget.
    A revoked key (never undone) or one past its expiry is refused on the very
    next request, and so is every key of a partner made inactive.
    """

    partner = models.ForeignKey(Partner, on_delete=models.PROTECT, related_name="api_keys")
    # A subset of restaurant.api.clients.ApiScope, e.g. ["menu:read", "orders:write"].
    scopes = models.JSONField(default=list, blank=True, validators=[validate_api_scopes])
    # Written at most once a minute per key (orders.partners.services.partner_key_touch).
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta(AbstractAPIKey.Meta):
        verbose_name = "partner API key"
        verbose_name_plural = "partner API keys"

    @property
    def rate_limit_id(self) -> str:
        return self.prefix

    def has_scope(self, scope: str) -> bool:
        return scope in (self.scopes or [])

    def actor(self) -> Actor:
        return Actor.partner(partner_id=self.partner_id, name=self.partner.name)
