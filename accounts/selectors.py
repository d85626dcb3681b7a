"""Reads of a customer's own details and saved addresses."""

from __future__ import annotations

from django.contrib.auth.models import AnonymousUser
from django.db.models import QuerySet

from accounts.models import Address, User

_MAX_ID = 2**63 - 1


def addresses_of(*, user: User) -> QuerySet[Address]:
    """The customer's saved addresses, the default first."""
    return Address.objects.filter(user=user).order_by("-is_default", "label", "pk")


def address_of(*, user: User, address_id: int) -> Address | None:
    """One of the customer's own addresses, or None (also for anybody else's)."""
    if not 0 < address_id <= _MAX_ID:
        return None
    return Address.objects.filter(user=user, pk=address_id).first()


def default_address_for(*, user: User | AnonymousUser) -> Address | None:
    if not user.is_authenticated:
        return None
    return Address.objects.filter(user=user, is_default=True).first()
