"""Delivery partners on the API: `Authorization: Api-Key <prefix>.<secret>` (djangorestframework-api-key).

The request is made by the key, not by a person: request.user stays
anonymous and request.auth is the PartnerAPIKey, which the doors ask for
its scopes and its Actor (restaurant.api.permissions).
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import AnonymousUser
from rest_framework.authentication import BaseAuthentication
from rest_framework.exceptions import AuthenticationFailed
from rest_framework.request import Request
from rest_framework_api_key.permissions import KeyParser

from orders.partners.models import PartnerAPIKey
from orders.partners.selectors import partner_key_usable
from orders.partners.services import partner_key_touch


class PartnerKeyAuthentication(BaseAuthentication):
    def authenticate(self, request: Request) -> tuple[Any, PartnerAPIKey] | None:
        raw = KeyParser().get(request)
        if not raw:
            return None
        key = partner_key_usable(raw_key=raw)
        if key is None:
            raise AuthenticationFailed("This API key is not valid (unknown, expired or revoked).")
        partner_key_touch(key=key)
        return AnonymousUser(), key

    def authenticate_header(self, request: Request) -> str:
        return 'Api-Key realm="api"'
