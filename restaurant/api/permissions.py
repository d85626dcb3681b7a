"""Who may use an API door: the one permission matrix (accounts.permissions), plus a key's scopes.

A door names the capability it needs with `capable(Capability.X)`, asked of
the caller as an Actor: a person (session or JWT) or a partner's key
(restaurant.api.clients). A request made with a key is judged as that key
only: every door refuses keys unless it names the scope it needs
(`required_scope`) and the key holds it, even a door open to everyone.
"""

from __future__ import annotations

from typing import Any

from rest_framework.permissions import BasePermission
from rest_framework.request import Request

from accounts.permissions import Capability, can
from accounts.roles import Actor
from restaurant.api.clients import ApiClient
from restaurant.errors import Forbidden


def api_actor(request: Request) -> Actor:
    """Who is calling, for the matrix and the audit trail."""
    client = request.auth
    if isinstance(client, ApiClient):
        return client.actor()
    return Actor.for_user(request.user)


class KeyScopes(BasePermission):
    """Every API door wears it (restaurant.api.views.ApiView): keys only where their scope allows."""

    def has_permission(self, request: Request, view: Any) -> bool:
        client = request.auth
        if not isinstance(client, ApiClient):
            return True
        scope = getattr(view, "required_scope", None)
        if scope is None:
            raise Forbidden("API keys cannot use this door.", code="key_not_accepted")
        if not client.has_scope(scope):
            raise Forbidden(
                f"This API key lacks the scope {scope}.", code="missing_scope", data={"scope": scope}
            )
        return True


def capable(capability: Capability) -> type[BasePermission]:
    """A permission class: the caller holds `capability` in the matrix."""

    class Capable(BasePermission):
        def has_permission(self, request: Request, view: Any) -> bool:
            return can(api_actor(request), capability)

    Capable.__name__ = f"Capable_{capability.value}"
    return Capable
