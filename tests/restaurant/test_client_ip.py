"""The client's address behind a configured number of our own proxies."""

from __future__ import annotations

import pytest
from django.test import RequestFactory

from restaurant.client_ip import client_ip

PROXY = "10.0.0.2"


def _request(forwarded: str | None = None, remote: str = PROXY):  # type: ignore[no-untyped-def]
    extra = {"REMOTE_ADDR": remote}
    if forwarded is not None:
        extra["HTTP_X_FORWARDED_FOR"] = forwarded
    return RequestFactory().get("/", **extra)


def test_without_a_trusted_proxy_the_header_is_ignored(settings):
    settings.TRUSTED_PROXY_COUNT = 0

    assert client_ip(_request("198.51.100.1", remote="203.0.113.9")) == "203.0.113.9"


@pytest.mark.parametrize(
    ("count", "forwarded", "expected"),
    [
        # One proxy appended the address it saw; what the client sent is to its left.
        (1, "203.0.113.9", "203.0.113.9"),
        (1, "6.6.6.6, 203.0.113.9", "203.0.113.9"),
        (1, "1.1.1.1,2.2.2.2 , 203.0.113.9", "203.0.113.9"),
        # Two proxies: the outer one wrote the client, the inner one the outer proxy.
        (2, "6.6.6.6, 203.0.113.9, 10.0.0.1", "203.0.113.9"),
        (1, "2001:db8::7", "2001:db8::7"),
        (1, "[2001:db8::7]:443", "2001:db8::7"),
        (1, "203.0.113.9:51234", "203.0.113.9"),
    ],
)
def test_the_client_is_the_nth_address_from_the_right(settings, count, forwarded, expected):
    settings.TRUSTED_PROXY_COUNT = count

    assert client_ip(_request(forwarded)) == expected


@pytest.mark.parametrize(
    ("count", "forwarded"),
    [
        (1, None),  # reached the app without the proxy
        (1, ""),
        (1, " , "),
        (2, "203.0.113.9"),  # fewer entries than proxies
        (1, "not-an-address"),
        (1, "203.0.113.9, 999.1.1.1"),
        (1, "203.0.113.9, <script>"),
    ],
)
def test_a_missing_short_or_malformed_header_falls_back_to_the_connection(settings, count, forwarded):
    settings.TRUSTED_PROXY_COUNT = count

    assert client_ip(_request(forwarded)) == PROXY


def test_a_client_rotating_the_header_stays_one_client(settings):
    settings.TRUSTED_PROXY_COUNT = 1

    seen = {client_ip(_request(f"192.0.2.{n}, 203.0.113.9")) for n in range(50)}

    assert seen == {"203.0.113.9"}
