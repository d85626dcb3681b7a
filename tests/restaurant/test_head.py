"""HEAD works wherever GET does: load balancers and `curl -I` probe pages with it."""

from __future__ import annotations

import socket
from collections.abc import Callable

import pytest
from django.test import Client
from django.urls import reverse

from accounts.models import Address
from orders.models import Order
from tests.conftest import Actors, SmallMenu, client_for
from tests.harness import daphne as daphne_harness
from tests.orders.flows import add_to_cart, checkout

daphne_instance = daphne_harness.daphne_instance

pytestmark = pytest.mark.django_db

Door = tuple[Client, str]


def _customer_with_an_order(actors: Actors, menu: SmallMenu) -> tuple[Client, Order, str]:
    client = client_for(actors.customer)
    add_to_cart(client, menu.fries)
    to_provider = checkout(client)
    assert to_provider.status_code == 302, to_provider
    return client, Order.objects.get(customer=actors.customer), to_provider["Location"]


def _doors(actors: Actors, menu: SmallMenu) -> dict[str, Callable[[], Door]]:
    def with_order(part: str) -> Door:
        client, order, sandbox_url = _customer_with_an_order(actors, menu)
        return client, {"order": order.get_absolute_url(), "sandbox": sandbox_url}[part]

    def checkout_page() -> Door:
        client = client_for(actors.customer)
        add_to_cart(client, menu.fries)
        return client, reverse("orders:checkout")

    def address_page() -> Door:
        address = Address.objects.create(user=actors.customer, label="Home", street="1 Main St", city="Town")
        return client_for(actors.customer), reverse("account_profile:address_edit", args=[address.pk])

    return {
        "home": lambda: (Client(), reverse("menu:index")),
        "menu": lambda: (Client(), reverse("menu:menu")),
        "item": lambda: (Client(), reverse("menu:item", args=[menu.burger.slug])),
        "cart": lambda: (Client(), reverse("orders:cart")),
        "checkout": checkout_page,
        "order": lambda: with_order("order"),
        "sandbox payment": lambda: with_order("sandbox"),
        "my orders": lambda: (client_for(actors.customer), reverse("orders:mine")),
        "floor": lambda: (client_for(actors.waiter), reverse("orders:floor")),
        "kitchen": lambda: (client_for(actors.chef), reverse("kitchen:board")),
        "account": lambda: (client_for(actors.customer), reverse("account_profile:index")),
        "address": address_page,
        "sign-in": lambda: (Client(), reverse("account_login")),
        "healthz": lambda: (Client(), reverse("healthz")),
        "readyz": lambda: (Client(), reverse("readyz")),
    }


DOORS = [
    "home",
    "menu",
    "item",
    "cart",
    "checkout",
    "order",
    "sandbox payment",
    "my orders",
    "floor",
    "kitchen",
    "account",
    "address",
    "sign-in",
    "healthz",
    "readyz",
]


@pytest.mark.parametrize("door", DOORS)
def test_head_answers_every_page_as_get_does(door: str, actors: Actors, small_menu: SmallMenu) -> None:
    # Given a page its visitor may open
    client, url = _doors(actors, small_menu)[door]()
    got = client.get(url)
    assert got.status_code == 200, (url, got.status_code)

    # When it is asked with HEAD
    head = client.head(url)

    # Then it answers as GET did, with the same kind of content
    assert head.status_code == got.status_code, (url, head.status_code)
    assert head["Content-Type"] == got["Content-Type"]


def _raw(port: int, request: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(request)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


@pytest.mark.postgres
@pytest.mark.parametrize("path", ["/menu/", "/healthz"])
def test_curl_head_gets_200_and_no_body_from_the_server(
    path: str, small_menu: SmallMenu, daphne_instance
) -> None:  # type: ignore[no-untyped-def]
    # Given the product served by daphne
    web = daphne_instance()

    # When a probe asks with HEAD, as `curl -I` does
    answer = _raw(web.port, f"HEAD {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n".encode())

    # Then it gets 200, the headers GET would have, and no body after them
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200"), head
    assert b"content-type: " in head.lower(), head
    assert body == b"", body[:200]
