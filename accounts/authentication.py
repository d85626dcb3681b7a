"""Mobile apps' JWT on the API: simplejwt's tokens, each request checked against its AppSession.

djangorestframework-simplejwt signs and reads the tokens (short-lived
access, longer refresh); access tokens alone would stay good until they
expire, so every request also reads the session the token names
(accounts.selectors.app_session_current, one query with the user): sign-out,
a disabled account or a changed password refuse the very next request.
"""

from __future__ import annotations

from typing import Any

from rest_framework.exceptions import AuthenticationFailed
from rest_framework_simplejwt.authentication import JWTAuthentication

from accounts.models import User
from accounts.selectors import app_session_current
from accounts.services import SESSION_CLAIM


class AppTokenAuthentication(JWTAuthentication):
    www_authenticate_realm = "api"

    def get_user(self, validated_token: Any) -> User:  # type: ignore[override]  # simplejwt types it AuthUser
        session = app_session_current(session_id=validated_token.get(SESSION_CLAIM))
        if session is None or str(session.user_id) != str(validated_token.get("user_id")):
            raise AuthenticationFailed("This sign-in has ended.", code="session_ended")
        return session.user
