"""The request type of pages behind login_required."""

from __future__ import annotations

from django.http import HttpRequest

from accounts.models import User


class AuthenticatedHttpRequest(HttpRequest):
    """A request whose user signed in: login_required turned everyone else away."""

    user: User
