from __future__ import annotations

from allauth.account.views import LoginView
from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django_ratelimit.core import is_ratelimited

from accounts.security_events import account_ref, security_event
from restaurant.error_views import error_response


def _login_key(group: str, request: HttpRequest) -> str:
    return account_ref(request.POST.get("login", ""))


class RateLimitedLoginView(LoginView):
    """allauth's sign-in, limited per client IP and per account on the shared cache.

    Both limits count every attempt, so a password-guessing run from one IP
    and a slow run against one account from many IPs are both stopped, while
    other people keep signing in. The answer never says which limit tripped.
    """

    def dispatch(self, request: HttpRequest, *args: object, **kwargs: object) -> HttpResponse:
        if request.method == "POST":
            by_ip = is_ratelimited(
                request,
                group="sign-in:ip",
                key="ip",
                rate=settings.SIGN_IN_RATE_PER_IP,
                method="POST",
                increment=True,
            )
            by_account = is_ratelimited(
                request,
                group="sign-in:account",
                key=_login_key,
                rate=settings.SIGN_IN_RATE_PER_ACCOUNT,
                method="POST",
                increment=True,
            )
            if by_ip or by_account:
                security_event(
                    "sign-in rate limited",
                    request=request,
                    account=account_ref(request.POST.get("login", "")),
                    limit="ip" if by_ip else "account",
                )
                return error_response(request, 429, retry_after=settings.SIGN_IN_RETRY_AFTER_SECONDS)
        return super().dispatch(request, *args, **kwargs)
