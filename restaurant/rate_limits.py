"""The one rate limiter for the doors that cost us or can be abused.

Every door that places, pays, cancels or fills a cart, and sign-up, wears
`@rate_limited("<name>")`. A name's budgets come from settings.RATE_LIMITS
(one env variable per name, RATE_LIMIT_<NAME>), written as allauth writes its
own: comma-separated `<count>/<period>/<key>`, for example
`"30/m/session,60/m/ip,30/m/user"`. Keys:

- `session`: the visitor's session; a request without one yet (a first visit,
  or a client that drops cookies) skips this budget, the others still count;
- `ip`: the client's address from restaurant.client_ip (X-Forwarded-For only
  through TRUSTED_PROXY_COUNT proxies), IPv6 by its /64;
- `user`: the signed-in user, whichever session or address they come from;
- `key`: the API key a program calls with (a delivery partner's), by its
  public prefix; requests without one skip this budget.

Only unsafe requests (POST and the like) spend; a GET of the same door is a
page view and passes untouched. Every budget of the name is spent on each
attempt, and the attempt is refused when any of them is over: 429 with
`Retry-After` (the end of the latest tripped window), as the friendly page or
the one JSON error body (restaurant.error_views). Answers of a limited door,
refused or not, carry `RateLimit-Limit`, `RateLimit-Remaining` and
`RateLimit-Reset` (seconds) of the budget closest to running out.

Counters are django-ratelimit's, in the cache RATELIMIT_USE_CACHE names,
which falls back to local memory while Redis is away
(restaurant.rate_limit_cache): limits then hold per process.

Coupon tries are meant to wear `@rate_limited("coupon")` on the door that
applies a code; the budget is in settings already, so a code guesser meets
the same limiter, keys and answers as everyone else.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar, cast

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.http import HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django_ratelimit import UNSAFE
from django_ratelimit.core import get_usage

from accounts.security_events import security_event
from restaurant.api.clients import ApiClient
from restaurant.error_views import error_response

KEYS = ("session", "ip", "user", "key")
_BUDGET = re.compile(r"^(?P<rate>\d+/\d*[smhd])/(?P<key>[a-z]+)$")


@dataclass(frozen=True)
class Budget:
    rate: str  # django-ratelimit's "<count>/<period>"
    key: str  # one of KEYS


@dataclass(frozen=True)
class Standing:
    """Where one request leaves a door's tightest budget."""

    limit: int
    remaining: int
    reset: int  # seconds until that budget's window ends
    over: bool
    retry_after: int  # seconds until every tripped budget has room again
    tripped: tuple[str, ...] = ()  # the keys of the budgets over their limit


@functools.cache
def parse_budgets(spec: str) -> tuple[Budget, ...]:
    budgets = []
    for part in (part.strip() for part in spec.split(",")):
        if not part:
            continue
        match = _BUDGET.match(part)
        if match is None or match["key"] not in KEYS:
            raise ImproperlyConfigured(
                f"A rate limit is <count>/<period>/<key> with key one of {', '.join(KEYS)}; got {part!r}."
            )
        budgets.append(Budget(rate=match["rate"], key=match["key"]))
    return tuple(budgets)


def budgets_for(name: str) -> tuple[Budget, ...]:
    try:
        spec = settings.RATE_LIMITS[name]
    except KeyError:
        raise ImproperlyConfigured(f"No rate limit named {name!r} in settings.RATE_LIMITS.") from None
    return parse_budgets(spec)


def _ratelimit_key(request: HttpRequest, key: str) -> str | Callable[[str, HttpRequest], str] | None:
    """django-ratelimit's key for one budget; None when the budget does not apply to this request."""
    if key == "ip":
        # django-ratelimit's own: restaurant.client_ip through RATELIMIT_IP_META_KEY, IPv6 by its /64.
        return "ip"
    if key == "session":
        session = getattr(request, "session", None)
        value = session.session_key if session is not None else None
    elif key == "key":
        # Set on API requests only (a DRF Request): the credentials they authenticated with.
        client = getattr(request, "auth", None)
        value = client.rate_limit_id if isinstance(client, ApiClient) else None
    else:
        user = getattr(request, "user", None)
        value = str(user.pk) if user is not None and user.is_authenticated else None
    if value is None:
        return None
    return lambda _group, _request: value


def rate_limit_spend(request: HttpRequest, name: str) -> Standing | None:
    """Spends one attempt of every budget of `name` that applies; None if none did."""
    usages: list[tuple[str, dict[str, Any]]] = []
    for budget in budgets_for(name):
        key = _ratelimit_key(request, budget.key)
        if key is None:
            continue
        usage = get_usage(
            request,
            group=f"limit:{name}:{budget.key}",
            key=key,
            rate=budget.rate,
            method=UNSAFE,
            increment=True,
        )
        if usage is not None:  # None: RATELIMIT_ENABLE off
            usages.append((budget.key, usage))
    if not usages:
        return None
    # A count the cache could not make reads as count 0 of limit 0, refused
    # (django-ratelimit with RATELIMIT_FAIL_OPEN off); time_left is then -1.
    _key, tightest = min(
        usages, key=lambda pair: (pair[1]["limit"] - pair[1]["count"], -pair[1]["time_left"])
    )
    tripped = [(key, usage) for key, usage in usages if usage["should_limit"]]
    return Standing(
        limit=tightest["limit"],
        remaining=max(tightest["limit"] - tightest["count"], 0),
        reset=max(int(tightest["time_left"]), 1),
        over=bool(tripped),
        retry_after=max((max(int(usage["time_left"]), 1) for _, usage in tripped), default=0),
        tripped=tuple(key for key, _ in tripped),
    )


def rate_limit_headers(
    response: HttpResponseBase, standing: Standing, *, with_limit: bool = True
) -> HttpResponseBase:
    # The header names of the IETF httpapi draft that clients and proxies know.
    if with_limit:
        response["RateLimit-Limit"] = str(standing.limit)
    response["RateLimit-Remaining"] = str(standing.remaining)
    response["RateLimit-Reset"] = str(standing.reset)
    return response


def too_many_requests(request: HttpRequest, standing: Standing, *, with_limit: bool = True) -> HttpResponse:
    """The one 429: friendly page or JSON error body, Retry-After and the RateLimit headers.

    `with_limit=False` leaves RateLimit-Limit out, for a door whose budgets
    differ in size and whose answer must not say which one tripped.
    """
    response = error_response(request, 429, retry_after=max(standing.retry_after, 1))
    rate_limit_headers(response, standing, with_limit=with_limit)
    return response


View = TypeVar("View", bound=Callable[..., HttpResponseBase])


def rate_limited(name: str) -> Callable[[View], View]:
    """A door behind the budgets of `name` (settings.RATE_LIMITS)."""
    # A misspelt name or budget (any of them, RATE_LIMIT_COUPON's too) fails
    # when the doors are imported (`manage.py check`, start-up), not on the
    # first request that meets it.
    budgets_for(name)
    for spec in settings.RATE_LIMITS.values():
        parse_budgets(spec)

    def decorate(view: View) -> View:
        @functools.wraps(view)
        def limited(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
            standing = rate_limit_spend(request, name) if request.method in UNSAFE else None
            if standing is None:
                return view(request, *args, **kwargs)
            if standing.over:
                security_event("rate limited", request=request, limit=name, budget=",".join(standing.tripped))
                return too_many_requests(request, standing)
            return rate_limit_headers(view(request, *args, **kwargs), standing)

        return cast("View", limited)

    return decorate
