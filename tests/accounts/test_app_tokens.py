"""Apps sign in with JWT: short access, rotated refresh; sign-out or a disabled account ends it at once."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from rest_framework_simplejwt.tokens import AccessToken

from accounts.models import AppSession
from tests.accounts.mfa_helpers import totp_code, totp_for
from tests.api import api_error, post_json
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db

TOKEN, REFRESH, SIGN_OUT, ME = (
    "/api/v1/auth/token/",
    "/api/v1/auth/token/refresh/",
    "/api/v1/auth/sign-out/",
    "/api/v1/me/",
)


def _sign_in(user, **extra) -> dict:
    response = post_json(Client(), TOKEN, {"email": user.email, "password": PASSWORD, **extra})
    assert response.status_code == 200, response.content
    return response.json()


def _me(access: str):
    return Client().get(ME, HTTP_AUTHORIZATION=f"Bearer {access}")


def test_an_app_signs_in_and_calls_the_api_with_its_access_token(verified_actors):
    tokens = _sign_in(verified_actors.customer)

    assert tokens["token_type"] == "Bearer"
    assert tokens["access_expires_in"] == 300
    assert tokens["refresh_expires_in"] == 14 * 24 * 3600
    me = _me(tokens["access"])
    assert me.status_code == 200
    assert me.json()["email"] == verified_actors.customer.email


def test_without_a_token_the_api_asks_for_one_with_a_401_challenge(verified_actors):
    response = Client().get(ME)

    assert api_error(response, 401)["code"] == "not_authenticated"
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_a_wrong_password_is_refused_and_spends_the_accounts_failure_budget(verified_actors, settings):
    settings.SIGN_IN_RATE_PER_ACCOUNT = "2/15m"
    customer = verified_actors.customer
    wrong = {"email": customer.email, "password": "not-it"}

    first = post_json(Client(REMOTE_ADDR="198.51.100.1"), TOKEN, wrong)
    second = post_json(Client(REMOTE_ADDR="198.51.100.2"), TOKEN, wrong)
    right_but_locked = post_json(
        Client(REMOTE_ADDR="198.51.100.3"), TOKEN, {"email": customer.email, "password": PASSWORD}
    )

    assert api_error(first, 401)["code"] == "sign_in_refused"
    assert api_error(second, 401)["code"] == "sign_in_refused"
    assert api_error(right_but_locked, 429)["code"] == "rate_limited"
    assert not AppSession.objects.exists()


def test_an_unverified_address_gets_no_tokens(actors):
    response = post_json(Client(), TOKEN, {"email": actors.customer.email, "password": PASSWORD})

    assert api_error(response, 403)["code"] == "email_not_verified"


def test_an_account_with_a_second_factor_must_send_its_code(verified_actors):
    manager = verified_actors.manager
    secret = totp_for(manager)
    body = {"email": manager.email, "password": PASSWORD}

    assert api_error(post_json(Client(), TOKEN, body), 401)["code"] == "code_required"
    wrong = "000000" if totp_code(secret) != "000000" else "111111"
    assert api_error(post_json(Client(), TOKEN, {**body, "code": wrong}), 401)["code"] == "code_incorrect"
    assert _me(_sign_in(manager, code=totp_code(secret))["access"]).status_code == 200


def test_an_expired_access_token_is_refused(verified_actors):
    access = AccessToken(_sign_in(verified_actors.customer)["access"])
    access.set_exp(lifetime=-timedelta(seconds=1))

    response = _me(str(access))

    assert api_error(response, 401)["code"] == "authentication_failed"


def test_refresh_rotates_and_a_used_refresh_token_ends_the_whole_sign_in(verified_actors):
    first = _sign_in(verified_actors.customer)

    rotated = post_json(Client(), REFRESH, {"refresh": first["refresh"]})
    assert rotated.status_code == 200
    second = rotated.json()
    assert second["refresh"] != first["refresh"]
    assert _me(second["access"]).status_code == 200

    # The first refresh token again: a copy is in someone else's hands.
    reused = post_json(Client(), REFRESH, {"refresh": first["refresh"]})
    assert api_error(reused, 401)["code"] == "token_reused"
    assert api_error(_me(second["access"]), 401)["code"] == "authentication_failed"
    assert (
        api_error(post_json(Client(), REFRESH, {"refresh": second["refresh"]}), 401)["code"]
        == "session_ended"
    )


def test_signing_out_refuses_the_access_and_refresh_tokens_at_once(verified_actors):
    tokens = _sign_in(verified_actors.customer)
    bearer = {"HTTP_AUTHORIZATION": f"Bearer {tokens['access']}"}

    assert post_json(Client(), SIGN_OUT, {}, **bearer).status_code == 204

    assert api_error(_me(tokens["access"]), 401)["code"] == "authentication_failed"
    assert (
        api_error(post_json(Client(), REFRESH, {"refresh": tokens["refresh"]}), 401)["code"]
        == "session_ended"
    )


def test_an_account_disabled_in_admin_is_refused_on_its_next_request(verified_actors):
    customer = verified_actors.customer
    tokens = _sign_in(customer)

    customer.is_active = False
    customer.save()

    assert api_error(_me(tokens["access"]), 401)["code"] == "authentication_failed"
    assert (
        api_error(post_json(Client(), REFRESH, {"refresh": tokens["refresh"]}), 401)["code"]
        == "session_ended"
    )


def test_a_password_change_ends_every_app_sign_in_of_the_account(verified_actors):
    customer = verified_actors.customer
    tokens = _sign_in(customer)

    customer.set_password("an-entirely-new-passphrase-7")
    customer.save()

    assert api_error(_me(tokens["access"]), 401)["code"] == "authentication_failed"


def test_a_forged_or_garbled_token_is_refused_in_the_error_shape(verified_actors):
    access = _sign_in(verified_actors.customer)["access"]

    assert api_error(_me(access[:-4] + "AAAA"), 401)["code"] == "authentication_failed"
    assert api_error(_me("not-a-jwt"), 401)["code"] == "authentication_failed"
    assert api_error(post_json(Client(), REFRESH, {"refresh": access}), 401)["code"] == "token_refused"


@pytest.mark.parametrize(
    "body",
    [
        {"email": ["a@b.c"], "password": PASSWORD},
        {"email": "a@b.c", "password": "x" * 5000},
        {"email": "a@b.c", "password": PASSWORD, "is_staff": True},
        [],
        "just a string",
    ],
    ids=["wrong type", "huge password", "unknown field", "an array", "a string"],
)
def test_a_hostile_sign_in_body_is_a_400_and_makes_no_session(verified_actors, body):
    response = post_json(Client(), TOKEN, body)

    assert api_error(response, 400)["code"] == "invalid"
    assert not AppSession.objects.exists()


def test_a_one_megabyte_body_is_refused_unread(verified_actors):
    response = post_json(Client(), TOKEN, {"email": "a@b.c", "password": "p" * 1_000_000})

    assert api_error(response, 413)["code"] == "too_large"
