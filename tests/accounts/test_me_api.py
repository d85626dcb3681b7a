"""The signed-in person's own account over the API: profile and saved addresses, through accounts.services."""

from __future__ import annotations

import pytest

from accounts.models import Address
from accounts.services import MAX_ADDRESSES_PER_USER
from tests.api import api_error, app_for, post_json

pytestmark = pytest.mark.django_db

ADDRESS = {"label": "Home", "street": "1 Quay Street", "city": "Galway", "postcode": "H91"}


def test_a_customer_reads_and_changes_their_profile(actors):
    app = app_for(actors.customer)

    changed = post_json(
        app, "/api/v1/me/update/", {"first_name": "Carla", "last_name": "Ng", "phone": "+353 91 123456"}
    )

    assert changed.status_code == 200
    assert app.get("/api/v1/me/").json()["phone"] == "+353 91 123456"
    actors.customer.refresh_from_db()
    assert actors.customer.last_name == "Ng"


def test_the_email_address_is_not_changed_here(actors):
    response = post_json(app_for(actors.customer), "/api/v1/me/update/", {"email": "new@example.test"})

    assert api_error(response, 400)["code"] == "invalid"
    assert "email" in response.json()["error"]["data"]["fields"]


def test_addresses_are_added_listed_changed_made_default_and_deleted(actors):
    app = app_for(actors.customer)

    home = post_json(app, "/api/v1/me/addresses/create/", ADDRESS).json()
    work = post_json(app, "/api/v1/me/addresses/create/", {**ADDRESS, "label": "Work"}).json()
    assert home["is_default"] is True and work["is_default"] is False

    renamed = post_json(app, f"/api/v1/me/addresses/{work['id']}/update/", {**ADDRESS, "label": "Office"})
    assert renamed.json()["label"] == "Office"
    assert post_json(app, f"/api/v1/me/addresses/{work['id']}/default/", None).json()["is_default"] is True
    assert [a["label"] for a in app.get("/api/v1/me/addresses/").json()] == ["Office", "Home"]
    assert post_json(app, f"/api/v1/me/addresses/{work['id']}/delete/", None).status_code == 204
    assert [a["label"] for a in app.get("/api/v1/me/addresses/").json()] == ["Home"]


def test_another_customers_address_does_not_exist_for_me(actors):
    theirs = post_json(app_for(actors.other_customer), "/api/v1/me/addresses/create/", ADDRESS).json()
    app = app_for(actors.customer)

    for action in ("update", "default", "delete"):
        body = ADDRESS if action == "update" else None
        error = api_error(post_json(app, f"/api/v1/me/addresses/{theirs['id']}/{action}/", body), 404)
        assert error["code"] == "address_not_found"
    assert Address.objects.get().label == "Home"


def test_the_address_limit_is_the_account_pages(actors):
    app = app_for(actors.customer)
    for n in range(MAX_ADDRESSES_PER_USER):
        assert (
            post_json(app, "/api/v1/me/addresses/create/", {**ADDRESS, "label": f"A{n}"}).status_code == 201
        )

    refused = post_json(app, "/api/v1/me/addresses/create/", ADDRESS)

    assert api_error(refused, 400)["code"] == "too_many_addresses"


@pytest.mark.parametrize(
    "body",
    [
        {**ADDRESS, "street": "x" * 5000},
        {**ADDRESS, "street": ["1 Quay Street"]},
        {**ADDRESS, "user": 1},
        {**ADDRESS, "street": "1 Quay\x00Street"},
        {"label": "Home"},
        [ADDRESS] * 100,
    ],
    ids=["too long", "wrong type", "unknown field", "control character", "missing fields", "huge array"],
)
def test_a_hostile_address_is_a_400_and_saves_nothing(actors, body):
    response = post_json(app_for(actors.customer), "/api/v1/me/addresses/create/", body)

    assert api_error(response, 400)["code"] == "invalid"
    assert not Address.objects.exists()
