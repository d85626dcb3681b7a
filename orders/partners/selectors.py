"""Reads about delivery partners: which API key a request holds, and a partner's own orders."""

from __future__ import annotations

import re

from django.db.models import QuerySet

from orders.models import Order
from orders.partners.models import PartnerAPIKey

# djangorestframework-api-key's keys: "<prefix>.<secret>", letters and digits.
_KEY_SHAPE = re.compile(r"^[A-Za-z0-9]{1,16}\.[A-Za-z0-9]{1,128}$")


def partner_key_usable(*, raw_key: str) -> PartnerAPIKey | None:
    """The key `raw_key` is, if usable now: known, hash matching, not revoked nor expired, partner active."""
    if not _KEY_SHAPE.match(raw_key):  # also keeps a NUL byte or a megabyte away from the query
        return None
    prefix = raw_key.partition(".")[0]
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
