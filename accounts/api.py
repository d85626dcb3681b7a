"""Sign-in for apps (JWT) and the signed-in person's own account, over the API.

Getting tokens is a sign-in door like the pages' (accounts.views): it goes
through the one sign-in limiter (accounts.sign_in_limits) before it looks at
the password, a wrong password spends the account's failure budget (the
user_login_failed signal), email verification is required as on the page,
and an account with a second factor must send its code.
"""

from __future__ import annotations

from typing import Any

from allauth.account.utils import has_verified_email
from allauth.core import context as allauth_context
from allauth.mfa.base.forms import AuthenticateForm
from allauth.mfa.utils import is_mfa_enabled
from django.contrib.auth import authenticate
from django.http.response import HttpResponseBase
from django.urls import path
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.models import User
from accounts.services import (
    SESSION_CLAIM,
    AppTokens,
    app_session_end,
    app_session_refresh,
    app_session_start,
)
from accounts.sign_in_limits import sign_in_attempt
from restaurant.api.serializers import StrictInput
from restaurant.api.views import ApiView
from restaurant.errors import ApplicationError, Forbidden

# Long enough for any real password; bounded so a hostile body costs nothing to refuse.
PASSWORD_MAX_LENGTH = 1024


class SignInRefused(ApplicationError):
    status = 401
    default_code = "sign_in_refused"


class TokensOutput(serializers.Serializer[AppTokens]):
    token_type = serializers.SerializerMethodField()
    access = serializers.CharField()
    refresh = serializers.CharField()
    access_expires_in = serializers.IntegerField(help_text="Seconds the access token is good for.")
    refresh_expires_in = serializers.IntegerField(
        help_text="Seconds the refresh token is good for, if unused."
    )

    def get_token_type(self, tokens: AppTokens) -> str:
        return "Bearer"


class TokenObtainApi(ApiView):
    # Credentials travel in the body: no session, so no CSRF, and no earlier token.
    authentication_classes = ()
    permission_classes = (AllowAny,)

    class Input(StrictInput):
        email = serializers.EmailField(max_length=254)
        password = serializers.CharField(max_length=PASSWORD_MAX_LENGTH, trim_whitespace=False)
        code = serializers.CharField(
            max_length=64, required=False, help_text="The second factor's code, for accounts that have one."
        )

    @extend_schema(operation_id="auth_token_obtain", request=Input, responses={200: TokensOutput})
    def post(self, request: Request) -> HttpResponseBase:
        """Signs an app in: an access token (minutes) and a refresh token (days)."""
        login = request.data.get("email") if isinstance(request.data, dict) else None
        refused = sign_in_attempt(
            request._request, door="api token", login=login if isinstance(login, str) else ""
        )
        if refused is not None:
            return refused
        data = self.Input(data=request.data)
        data.is_valid(raise_exception=True)
        email, password = data.validated_data["email"], data.validated_data["password"]
        user = authenticate(request._request, email=email, password=password)
        if not isinstance(user, User) or not user.is_active:
            raise SignInRefused("The email address and password do not match an account.")
        if not has_verified_email(user, user.email):
            raise Forbidden(
                "Confirm your email address first: follow the link we sent you.", code="email_not_verified"
            )
        if is_mfa_enabled(user):
            self._check_second_factor(request, user, data.validated_data.get("code", ""))
        return Response(TokensOutput(app_session_start(user=user)).data)

    def _check_second_factor(self, request: Request, user: User, code: str) -> None:
        if not code:
            raise SignInRefused("This account has a second factor: send its code too.", code="code_required")
        # allauth's own check: TOTP or a recovery code; a wrong one is recorded
        # (its authentication_failed signal spends the account's failure budget).
        with allauth_context.request_context(request._request):
            form = AuthenticateForm(data={"code": code}, user=user)
            if not form.is_valid():
                raise SignInRefused("That code is not right.", code="code_incorrect")


class TokenRefreshApi(ApiView):
    authentication_classes = ()
    permission_classes = (AllowAny,)

    class Input(StrictInput):
        refresh = serializers.CharField(max_length=2048)

    @extend_schema(operation_id="auth_token_refresh", request=Input, responses={200: TokensOutput})
    def post(self, request: Request) -> Response:
        """A new access and refresh pair; the refresh token sent is never good again."""
        data = self.Input(data=request.data)
        data.is_valid(raise_exception=True)
        return Response(TokensOutput(app_session_refresh(refresh=data.validated_data["refresh"])).data)


class SignOutApi(ApiView):
    @extend_schema(
        operation_id="auth_sign_out",
        request=None,
        responses={204: OpenApiResponse(description="Signed out.")},
    )
    def post(self, request: Request) -> Response:
        """Ends the app's sign-in: its access and refresh tokens are refused from the next request."""
        session_id = request.auth.get(SESSION_CLAIM) if hasattr(request.auth, "get") else None
        if session_id is None:
            raise ApplicationError("Sign out of a browser on the sign-out page.", code="not_an_app_session")
        app_session_end(session_id=session_id, reason="signed out")
        return Response(status=status.HTTP_204_NO_CONTENT)


class MeApi(ApiView):
    class Output(serializers.Serializer[User]):
        id = serializers.IntegerField()
        email = serializers.EmailField()
        first_name = serializers.CharField()
        last_name = serializers.CharField()
        phone = serializers.CharField()
        is_vip = serializers.BooleanField()

    @extend_schema(operation_id="me_read", responses={200: Output})
    def get(self, request: Request) -> Response:
        """The signed-in person's own profile."""
        return Response(self.Output(request.user).data)  # type: ignore[arg-type]  # IsAuthenticated


urlpatterns: list[Any] = [
    path("auth/token/", TokenObtainApi.as_view(), name="auth_token"),
    path("auth/token/refresh/", TokenRefreshApi.as_view(), name="auth_token_refresh"),
    path("auth/sign-out/", SignOutApi.as_view(), name="auth_sign_out"),
    path("me/", MeApi.as_view(), name="me"),
]
