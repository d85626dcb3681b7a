"""The one limiter every sign-in door goes through.

Two budgets, both django-ratelimit counters on the shared cache:

- per client IP (restaurant.client_ip), SIGN_IN_RATE_PER_IP: every attempt
  at any door counts (password, second factor, sign-up, password reset), and
  the doors share the budget, so moving from one door to another buys a
  guesser nothing;
- per account, SIGN_IN_RATE_PER_ACCOUNT: only failures count (a wrong
  password or a wrong second-factor code), so signing in often never locks
  anybody out, while a slow guessing run from many addresses still stops.

A door calls sign_in_attempt() before it looks at what was posted; a failure
is reported with sign_in_failure_record() (wrong passwords arrive through
Django's user_login_failed signal, wherever authenticate() is called). Past
either budget the door answers 429 with Retry-After set to the end of the
tripped window (restaurant.rate_limits builds it, as for every limited door),
and the answer never says which budget tripped. While an
account is over its budget even the right password is refused: letting it
through would tell the guesser the moment a guess was right.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django_ratelimit.core import get_usage

from accounts.security_events import account_ref, security_event
from restaurant.client_ip import client_ip
from restaurant.rate_limits import Standing, too_many_requests

_IP_GROUP = "sign-in:ip"
_ACCOUNT_GROUP = "sign-in:account-failures"
# Part of the counters' cache keys: the same for counting and for asking.
_METHOD = "POST"


@dataclass(frozen=True)
class _Usage:
    over: bool
    retry_after: int
    limit: int


def _usage(request: HttpRequest, *, group: str, value: str, rate: str, increment: bool) -> _Usage:
    usage = get_usage(
        request,
        group=group,
        key=lambda _group, _request: value,
        rate=rate,
        method=_METHOD,
        increment=increment,
    )
    if usage is None:  # RATELIMIT_ENABLE off
        return _Usage(over=False, retry_after=0, limit=0)
    # Counting adds this attempt before comparing; asking compares what is
    # already spent, so the budget's last failure is the last one allowed.
    # A cache that cannot answer reads as count 0 of limit 0: refused, as
    # django-ratelimit does (RATELIMIT_FAIL_OPEN off).
    over = usage["should_limit"] if increment else usage["count"] >= usage["limit"]
    return _Usage(over=over, retry_after=max(int(usage["time_left"]), 1), limit=usage["limit"])


def _ip_usage(request: HttpRequest) -> _Usage:
    return _usage(
        request, group=_IP_GROUP, value=client_ip(request), rate=settings.SIGN_IN_RATE_PER_IP, increment=True
    )


def _account_usage(request: HttpRequest, *, login: str, increment: bool) -> _Usage:
    return _usage(
        request,
        group=_ACCOUNT_GROUP,
        value=account_ref(login),
        rate=settings.SIGN_IN_RATE_PER_ACCOUNT,
        increment=increment,
    )


def sign_in_attempt(request: HttpRequest, *, door: str, login: str | None = None) -> HttpResponse | None:
    """Counts one attempt at `door`; the 429 answer to send instead, or None to go on.

    `login` is the account the attempt is about (the email typed, or the user
    half-way through a sign-in); doors that do not reveal an account's
    secret (sign-up, password reset) pass none and spend only the IP budget.
    """
    tripped = {"ip": _ip_usage(request)}
    if login:
        tripped["account"] = _account_usage(request, login=login, increment=False)
    over = {name: usage for name, usage in tripped.items() if usage.over}
    if not over:
        return None
    security_event(
        "sign-in rate limited",
        request=request,
        door=door,
        account=account_ref(login) if login else None,
        limit=",".join(sorted(over)),
    )
    retry_after = max(usage.retry_after for usage in over.values())
    standing = Standing(
        limit=min(usage.limit for usage in over.values()),
        remaining=0,
        reset=retry_after,
        over=True,
        retry_after=retry_after,
    )
    # With an account's budget in play the two budgets differ in size, and
    # RateLimit-Limit would say which one tripped: it is left out then.
    return too_many_requests(request, standing, with_limit=not login)


def sign_in_failure_record(request: HttpRequest, *, login: str) -> None:
    """Spends one of the account's failures (a wrong password or second-factor code)."""
    if login:
        _account_usage(request, login=login, increment=True)
