"""The sign-in doors allauth serves, each behind accounts.sign_in_limits.

Each view is allauth's own with one step added in front of its POST: the
attempt is counted, and past the budget the door answers 429 instead.
"""

from __future__ import annotations

from typing import Any

from allauth.account.views import LoginView, PasswordResetView, ReauthenticateView, SignupView
from allauth.mfa.base.views import AuthenticateView
from allauth.mfa.base.views import ReauthenticateView as MFAReauthenticateView
from django.http import HttpRequest, HttpResponse
from django.utils.decorators import method_decorator

from accounts.http import AuthenticatedHttpRequest
from accounts.sign_in_limits import sign_in_attempt
from restaurant.rate_limits import rate_limited


class RateLimitedLoginView(LoginView):
    """allauth's sign-in (email and password). Wrong passwords spend the
    account's budget through the user_login_failed signal (accounts.signals)."""

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        refused = sign_in_attempt(request, door="sign-in", login=request.POST.get("login", ""))
        return refused or super().post(request, *args, **kwargs)


class RateLimitedMFAAuthenticateView(AuthenticateView):
    """The second-factor stage of a sign-in. A wrong code spends the account's
    budget through allauth's authentication_failed signal (accounts.signals)."""

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        user = self.stage.login.user
        refused = sign_in_attempt(request, door="second factor", login=user.email)
        return refused or super().post(request, *args, **kwargs)


class RateLimitedMFAReauthenticateView(MFAReauthenticateView):
    """A signed-in user proving the second factor again (admin asks for it)."""

    def post(self, request: AuthenticatedHttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        refused = sign_in_attempt(request, door="second factor again", login=request.user.email)
        return refused or super().post(request, *args, **kwargs)


class RateLimitedReauthenticateView(ReauthenticateView):
    """A signed-in user typing their password again (before setting up a second factor)."""

    def post(self, request: AuthenticatedHttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        refused = sign_in_attempt(request, door="password again", login=request.user.email)
        return refused or super().post(request, *args, **kwargs)


@method_decorator(rate_limited("sign_up"), name="post")
class RateLimitedSignupView(SignupView):
    """Sign-up's own budget (each new account sends an email), then the sign-in budget per IP."""

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        return sign_in_attempt(request, door="sign-up") or super().post(request, *args, **kwargs)


class RateLimitedPasswordResetView(PasswordResetView):
    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        return sign_in_attempt(request, door="password reset") or super().post(request, *args, **kwargs)
