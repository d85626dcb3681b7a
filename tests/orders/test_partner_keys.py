"""Partners' API keys: made in admin and shown once, stored hashed, scoped, expiring, revoked at once."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from orders.partners.models import PartnerAPIKey
from restaurant.api.clients import ApiScope
from tests.api import api_error, post_json
from tests.conftest import client_for

pytestmark = pytest.mark.django_db

MENU, ME = "/api/v1/menu/", "/api/v1/me/"


def _with(header: str) -> dict:
    return {"HTTP_AUTHORIZATION": header}


def test_a_manager_makes_a_key_in_admin_sees_it_once_and_only_its_hash_is_kept(actors, partner, small_menu):
    manager = client_for(actors.manager)

    response = manager.post(
        reverse("admin:orders_partnerapikey_add"),
        {"partner": partner.pk, "name": "production", "scopes": [ApiScope.MENU_READ, ApiScope.ORDERS_WRITE]},
        follow=True,
    )

    assert response.status_code == 200
    shown = [str(message) for message in response.context["messages"]]
    key = PartnerAPIKey.objects.get()
    raw = next(word for message in shown for word in message.split() if word.startswith(f"{key.prefix}."))
    assert raw.split(".", 1)[1] not in key.hashed_key and raw not in key.id
    assert key.hashed_key.startswith("sha512$$")
    assert key.scopes == [ApiScope.MENU_READ, ApiScope.ORDERS_WRITE]
    # The list shows the prefix, never the key again.
    listing = manager.get(reverse("admin:orders_partnerapikey_changelist")).content.decode()
    assert key.prefix in listing and raw not in listing
    assert (
        raw not in manager.get(reverse("admin:orders_partnerapikey_change", args=[key.pk])).content.decode()
    )
    assert Client().get(MENU, **_with(f"Api-Key {raw}")).status_code == 200


def test_only_managers_reach_partner_keys_in_admin(actors):
    for name in ("customer", "waiter", "chef"):
        answer = client_for(getattr(actors, name)).get(reverse("admin:orders_partnerapikey_changelist"))
        assert answer.status_code == 302, name


def test_a_key_reads_the_menu_with_its_scope_and_its_last_use_is_recorded(partner_key, small_menu):
    header = partner_key(ApiScope.MENU_READ)

    response = Client().get(MENU, **_with(header))

    assert response.status_code == 200
    assert PartnerAPIKey.objects.get().last_used_at is not None


def test_a_key_without_the_scope_is_refused_even_where_anyone_may_read(partner_key, small_menu):
    response = Client().get(MENU, **_with(partner_key(ApiScope.ORDERS_WRITE)))

    error = api_error(response, 403)
    assert error["code"] == "missing_scope"
    assert error["data"] == {"scope": "menu:read"}


def test_a_door_for_people_refuses_every_key(partner_key):
    response = Client().get(ME, **_with(partner_key(*ApiScope.values)))

    assert api_error(response, 403)["code"] == "key_not_accepted"


def test_an_expired_key_is_refused(partner_key, small_menu):
    header = partner_key(ApiScope.MENU_READ, expiry_date=timezone.now() - timedelta(seconds=1))

    response = Client().get(MENU, **_with(header))

    assert api_error(response, 401)["code"] == "authentication_failed"


def test_a_key_revoked_in_admin_is_refused_on_its_next_request(actors, partner_key, small_menu):
    header = partner_key(ApiScope.MENU_READ)
    assert Client().get(MENU, **_with(header)).status_code == 200
    key = PartnerAPIKey.objects.get()

    client_for(actors.manager).post(
        reverse("admin:orders_partnerapikey_changelist"),
        {"action": "revoke", "_selected_action": [key.pk]},
    )

    assert api_error(Client().get(MENU, **_with(header)), 401)["code"] == "authentication_failed"
    key.refresh_from_db()
    assert key.revoked


def test_every_key_of_a_partner_made_inactive_is_refused(partner, partner_key, small_menu):
    header = partner_key(ApiScope.MENU_READ)

    partner.is_active = False
    partner.save()

    assert api_error(Client().get(MENU, **_with(header)), 401)["code"] == "authentication_failed"


@pytest.mark.parametrize(
    "header",
    ["Api-Key nope", "Api-Key abc.def", "Api-Key " + "x" * 5000, "Api-Key .", "Api-Key ab\x00c.def"],
    ids=["no prefix", "unknown", "huge", "empty parts", "a NUL byte"],
)
def test_a_made_up_key_is_a_401_with_a_challenge(header, partner_key, small_menu):
    partner_key(ApiScope.MENU_READ)

    response = Client().get(MENU, **_with(header))

    assert api_error(response, 401)["code"] == "authentication_failed"
    assert response["WWW-Authenticate"]


@pytest.mark.urls("tests.restaurant.limited_api_urls")
def test_each_key_has_its_own_budget_even_from_one_address(partner, partner_key, settings):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "cart": "2/m/key,100/m/ip"}
    first, second = partner_key(), partner_key()

    spent = [post_json(Client(), "/api/v1/limited/", {}, **_with(first)).status_code for _ in range(3)]

    assert spent[-1] == 429
    assert post_json(Client(), "/api/v1/limited/", {}, **_with(second)).status_code == 403
