"""Who is acting: roles (Django groups) and the Actor recorded in audit trails."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from django.db import models

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser

    from accounts.models import User


class Role(models.TextChoices):
    # Orders food, follows and cancels their own orders. Every signed-in user,
    # and a guest holding an order's tracking link.
    CUSTOMER = "customer", "Customer"
    # Takes orders for tables, records payment at the table, serves.
    WAITER = "waiter", "Waiter"
    # Works the kitchen board: starts and bumps tickets.
    CHEF = "chef", "Chef"
    # Runs the restaurant in admin; may do whatever staff may do.
    MANAGER = "manager", "Manager"
    # Not a person: the payment provider's webhook, timers, the relay.
    SYSTEM = "system", "System"
    # Not a person: a delivery partner's program, calling the API with its key.
    PARTNER = "partner", "Delivery partner"


STAFF_ROLES = frozenset({Role.WAITER, Role.CHEF, Role.MANAGER})
GROUP_ROLES = (Role.CUSTOMER, Role.WAITER, Role.CHEF, Role.MANAGER)


def roles_of(user: User | AnonymousUser) -> frozenset[Role]:
    if not user.is_authenticated or not user.is_active:
        return frozenset()
    if user.is_superuser:
        return frozenset({Role.CUSTOMER, *STAFF_ROLES})
    # One query per user object, not one per permission check: a page asks
    # several times (navigation, view, service) within one request.
    cached = getattr(user, "_brigade_roles", None)
    if cached is None:
        names = set(user.groups.values_list("name", flat=True))
        cached = frozenset({Role.CUSTOMER} | {role for role in STAFF_ROLES if role.value in names})
        user._brigade_roles = cached  # type: ignore[attr-defined]
    return cached


@dataclass(frozen=True)
class Actor:
    """Whoever triggers a change; its label is what the audit trail shows."""

    label: str
    roles: frozenset[Role] = field(default_factory=frozenset)
    user: User | None = None
    # The delivery partner acting through its API key (orders.partners), as an id:
    # accounts sits below orders and never imports it.
    partner_id: int | None = None

    @classmethod
    def for_user(cls, user: User | AnonymousUser) -> Actor:
        if not user.is_authenticated:
            # No roles, so every capability check refuses; doors ask for a sign-in first.
            return cls(label="anonymous")
        return cls(label=user.email or user.username, roles=roles_of(user), user=user)

    @classmethod
    def guest(cls) -> Actor:
        return cls(label="guest", roles=frozenset({Role.CUSTOMER}))

    @classmethod
    def partner(cls, *, partner_id: int, name: str) -> Actor:
        return cls(label=f"partner:{name}", roles=frozenset({Role.PARTNER}), partner_id=partner_id)

    @classmethod
    def system(cls, name: str) -> Actor:
        return cls(label=f"system:{name}", roles=frozenset({Role.SYSTEM}))

    def has_any(self, roles: frozenset[Role] | set[Role]) -> bool:
        return bool(self.roles & roles)

    @property
    def is_staff_member(self) -> bool:
        return self.has_any(STAFF_ROLES)
