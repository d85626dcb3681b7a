"""Programs that call the API with credentials of their own (a delivery partner's key), and their scopes.

A key's owner lives in orders (orders.partners.models.PartnerAPIKey); the
doors of every app only ask this protocol, so menu never imports orders.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from django.db import models

from accounts.roles import Actor


class ApiScope(models.TextChoices):
    # Read the menu (GET /api/v1/menu/…).
    MENU_READ = "menu:read", "menu:read — read the menu"
    # Read the status of the orders this key's partner placed.
    ORDERS_READ = "orders:read", "orders:read — read its orders"
    # Place orders for the partner's customers and start their payment.
    ORDERS_WRITE = "orders:write", "orders:write — place orders and start payment"


@runtime_checkable
class ApiClient(Protocol):
    @property
    def rate_limit_id(self) -> str:
        """What the "key" rate-limit budget counts by: the key's public prefix."""
        ...

    def has_scope(self, scope: str) -> bool: ...

    def actor(self) -> Actor: ...
