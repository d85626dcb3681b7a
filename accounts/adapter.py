"""allauth, told who the client is the way the rest of Brigade is."""

from __future__ import annotations

from allauth.account.adapter import DefaultAccountAdapter
from django.http import HttpRequest

from restaurant.client_ip import client_ip


class BrigadeAccountAdapter(DefaultAccountAdapter):
    def get_client_ip(self, request: HttpRequest) -> str:
        # allauth's own limits (failed logins, sign-up, reset, MFA) key on
        # this; its X-Forwarded-For reading would be a second copy of
        # restaurant.client_ip with its own setting.
        return client_ip(request)
