"""The base of every API door: keys only where their scope allows, the pages' one limiter, no stray bodies.

Every door refuses partners' API keys unless it names the scope it needs
(`required_scope`, restaurant.api.permissions.KeyScopes); a door that takes
no body refuses one (`refuse_body`) rather than ignore it.

A door names its budgets with `rate_limit` (settings.RATE_LIMITS). Where the
API does what a page does it uses the page's name ("checkout", "payment",
"cancel"), so a client cannot switch from the page to the API, or back, for
a fresh budget. Budgets are spent after authentication (the user and the
API key budgets need to know who asks) and before permissions, so a caller
refused for rights still spends; a caller whose credentials are refused
spends as anonymous (the IP budget). Only unsafe methods spend, as on the
pages. Answers carry the pages' RateLimit-* headers; a refusal is their 429
with Retry-After, in the one error shape.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from django_ratelimit import UNSAFE
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.views import APIView

from accounts.security_events import security_event
from restaurant.api.errors import RateLimited
from restaurant.api.permissions import KeyScopes
from restaurant.rate_limits import Standing, rate_limit_headers, rate_limit_spend

if TYPE_CHECKING:
    from rest_framework.permissions import _SupportsHasPermission


class ApiView(APIView):
    rate_limit: str | None = None
    # The scope an API key needs here (restaurant.api.clients.ApiScope); None: keys are refused.
    required_scope: str | None = None

    def get_permissions(self) -> Sequence[_SupportsHasPermission]:
        return [KeyScopes(), *super().get_permissions()]

    @staticmethod
    def refuse_body(request: Request) -> None:
        """For a door that takes no body: one sent anyway (fields, a megabyte) is refused, never ignored."""
        if request.data not in (None, {}, [], ""):
            raise ValidationError({api_settings.NON_FIELD_ERRORS_KEY: ["This door takes no body."]})

    def get_rate_limit(self, request: Request) -> str | None:
        """The budgets this request spends; a door may pick them by who calls."""
        return self.rate_limit

    def perform_authentication(self, request: Request) -> None:
        try:
            super().perform_authentication(request)
        finally:
            self._spend_rate_limit(request)

    def _spend_rate_limit(self, request: Request) -> None:
        name = self.get_rate_limit(request)
        if name is not None:
            self.spend_rate_limit(request, name)

    def spend_rate_limit(self, request: Request, name: str) -> None:
        """Spends one try of the budgets `name` (a door may spend a second one, as for a coupon tried)."""
        if request.method not in UNSAFE:
            return
        standing = rate_limit_spend(request, name)
        if standing is None:
            return
        if standing.over:
            security_event(
                "rate limited",
                request=request._request,
                limit=name,
                budget=",".join(standing.tripped),
            )
            raise RateLimited(standing)
        self._rate_limit_standing: Standing = standing

    # Typed as DRF's stubs have it; a 304 or the one error body (JsonResponse) passes here too.
    def finalize_response(self, request: Request, response: Response, *args: Any, **kwargs: Any) -> Response:
        response = super().finalize_response(request, response, *args, **kwargs)
        standing = getattr(self, "_rate_limit_standing", None)
        if standing is not None:
            rate_limit_headers(response, standing)
        return response
