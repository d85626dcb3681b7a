"""The client's address, as the proxies we run in front of Brigade saw it.

Every per-IP decision (django-ratelimit's "ip" key, allauth's own limits, the
security log) reads the address here, so there is one answer to "who is this".

With TRUSTED_PROXY_COUNT=N, each of our N proxies appends the address it
received the connection from to X-Forwarded-For, so the Nth entry from the
right was written by our outermost proxy and is the client. Everything to its
left came from the client and is ignored: a client that rotates the header
from one connection is still one client. With N=0 (no proxy) the header is
never read. A header shorter than N, or an entry that is not an address,
means the request did not come through our proxies as configured; the
connection's own address (REMOTE_ADDR) is used then, never the forged value.
"""

from __future__ import annotations

import ipaddress

from django.conf import settings
from django.http import HttpRequest


def _address(value: str) -> str | None:
    value = value.strip()
    if value.startswith("[") and "]" in value:  # "[2001:db8::1]:443"
        value = value[1 : value.index("]")]
    elif value.count(":") == 1:  # "203.0.113.9:51234"
        value = value.split(":", 1)[0]
    try:
        return str(ipaddress.ip_address(value))
    except ValueError:
        return None


def client_ip(request: HttpRequest) -> str:
    remote = _address(request.META.get("REMOTE_ADDR") or "") or "0.0.0.0"  # noqa: S104 (a key, not a bind)
    trusted = settings.TRUSTED_PROXY_COUNT
    if trusted <= 0:
        return remote
    forwarded = [part for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if part.strip()]
    if len(forwarded) < trusted:
        return remote
    return _address(forwarded[-trusted]) or remote
