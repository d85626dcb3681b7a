"""Every kind of page carries the security headers; the CSP never allows inline script."""

from __future__ import annotations

import pytest
from django.urls import reverse

from accounts.roles import Actor
from orders.pricing import CartLine
from orders.services import OrderDetails, order_place
from tests.conftest import client_for

pytestmark = pytest.mark.django_db

EXPECTED = {
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cross-Origin-Opener-Policy": "same-origin",
}


def _check_headers(response) -> None:
    for header, value in EXPECTED.items():
        assert response.headers.get(header) == value, (header, response.headers.get(header))
    csp = response.headers["Content-Security-Policy"]
    script_src = next(part for part in csp.split(";") if part.strip().startswith("script-src"))
    assert "'unsafe-inline'" not in script_src
    assert "'unsafe-eval'" not in script_src
    assert "frame-ancestors 'none'" in csp
    assert "object-src 'none'" in csp
    assert "camera=()" in response.headers["Permissions-Policy"]


def test_every_page_type_carries_the_security_headers(actors, small_menu):
    order, _ = order_place(
        lines=[CartLine(small_menu.fries.pk, 1)],
        details=OrderDetails(order_type="pickup", contact_name="A", contact_email="a@example.test"),
        actor=Actor.guest(),
    )
    anonymous = client_for(None)
    pages = {
        "menu": (anonymous, "/"),
        "item": (anonymous, small_menu.burger.get_absolute_url()),
        "cart": (anonymous, reverse("orders:cart")),
        "order": (anonymous, order.get_absolute_url()),
        "sign in": (anonymous, reverse("account_login")),
        "sign up": (anonymous, reverse("account_signup")),
        "password reset": (anonymous, reverse("account_reset_password")),
        "not found": (anonymous, "/no/such/page/"),
        "health": (anonymous, "/healthz"),
        "kitchen": (client_for(actors.chef), reverse("kitchen:board")),
        "forbidden": (client_for(actors.customer), reverse("kitchen:board")),
        "my orders": (client_for(actors.customer), reverse("orders:mine")),
        "admin": (client_for(actors.manager), reverse("admin:index")),
    }
    for name, (client, url) in pages.items():
        response = client.get(url)
        assert response.status_code < 500, name
        _check_headers(response)


def test_a_post_that_fails_validation_also_carries_the_headers(client, small_menu):
    response = client.post(reverse("orders:cart_add"), {"item": "x", "quantity": "y"})
    assert response.status_code == 400
    _check_headers(response)


def test_hsts_is_sent_over_https_in_production_settings(client, settings, small_menu):
    settings.SECURE_HSTS_SECONDS = 31536000
    settings.SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    settings.SECURE_HSTS_PRELOAD = True

    response = client.get("/", secure=True)

    assert response.headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains; preload"


def test_every_form_needs_a_csrf_token(small_menu):
    from django.test import Client

    strict = Client(enforce_csrf_checks=True)
    response = strict.post(reverse("orders:cart_add"), {"item": small_menu.fries.pk, "quantity": 1})
    assert response.status_code == 403
    assert strict.session.get("cart") in (None, [])
