"""Reads about delivery partners: which API key a request holds, and a partner's own orders."""

from __future__ import annotations

from django.db.models import QuerySet

from orders.models import Order
from orders.partners.models import PartnerAPIKey


def partner_key_usable(*, raw_key: str) -> PartnerAPIKey | None:
    """The key `raw_key` is, if usable now: known, hash matching, not revoked nor expired, partner active."""
    prefix, dot, _secret = raw_key.partition(".")
    if not dot or len(raw_key) > 200:
        return None
    key = (
        PartnerAPIKey.objects.select_related("partner")
        .filter(prefix=prefix, revoked=False, partner__is_active=True)
        .first()
    )
    if key is None or key.has_expired or not key.is_valid(raw_key):
        return None
    return key


def orders_of_partner(*, partner_id: int) -> QuerySet[Order]:
    return Order.objects.filter(partner_id=partner_id).prefetch_related("items")
