"""Managers set VIP and roles in admin, and cannot hand out more than the roles."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse

from tests.conftest import client_for

pytestmark = pytest.mark.django_db


def _change_form(client, user) -> dict[str, object]:
    return {
        "email": user.email,
        "username": user.username,
        "first_name": user.first_name,
        "last_name": user.last_name,
        "phone": "",
        "is_active": "on",
        "date_joined_0": "2026-01-01",
        "date_joined_1": "10:00:00",
        "addresses-TOTAL_FORMS": "0",
        "addresses-INITIAL_FORMS": "0",
        "addresses-MIN_NUM_FORMS": "0",
        "addresses-MAX_NUM_FORMS": "1000",
    }


def test_a_manager_makes_a_customer_vip_and_a_chef(actors):
    manager = client_for(actors.manager)
    data = _change_form(manager, actors.customer) | {
        "is_vip": "on",
        "groups": [Group.objects.get(name="chef").pk],
    }

    response = manager.post(reverse("admin:accounts_user_change", args=[actors.customer.pk]), data)

    assert response.status_code == 302, response.content.decode()[:2000]
    actors.customer.refresh_from_db()
    assert actors.customer.is_vip
    assert list(actors.customer.groups.values_list("name", flat=True)) == ["chef"]


def test_a_manager_cannot_make_anyone_superuser(actors):
    manager = client_for(actors.manager)
    data = _change_form(manager, actors.customer) | {"is_superuser": "on"}

    manager.post(reverse("admin:accounts_user_change", args=[actors.customer.pk]), data)

    actors.customer.refresh_from_db()
    assert not actors.customer.is_superuser


def test_a_customer_cannot_make_themselves_vip(actors):
    response = client_for(actors.customer).post(
        reverse("admin:accounts_user_change", args=[actors.customer.pk]), {"is_vip": "on"}
    )
    assert response.status_code == 302
    assert reverse("admin:login") in response["Location"]
    actors.customer.refresh_from_db()
    assert not actors.customer.is_vip
