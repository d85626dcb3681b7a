"""Signed-in sessions end when idle, and staff sessions after a shift whatever the activity."""

from __future__ import annotations

import time

import pytest
from django.test import Client

from accounts.session_policy import LAST_SEEN_AT, SIGNED_IN_AT
from restaurant.sessions import SessionStore
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db

HOUR = 3600


def signed_in(user) -> Client:  # type: ignore[no-untyped-def]
    client = Client()
    assert client.login(username=user.email, password=PASSWORD)
    return client


def age_session(client: Client, *, signed_in_ago: int, last_seen_ago: int) -> None:
    """Moves the session's clock marks into the past, as if time had passed."""
    session = client.session
    now = int(time.time())
    session[SIGNED_IN_AT] = now - signed_in_ago
    session[LAST_SEEN_AT] = now - last_seen_ago
    session.save()


def is_signed_in(client: Client) -> bool:
    return client.get("/account/").status_code == 200


def test_signing_in_starts_the_clock(actors):
    client = signed_in(actors.customer)

    assert abs(client.session[SIGNED_IN_AT] - time.time()) < 5
    assert abs(client.session[LAST_SEEN_AT] - time.time()) < 5


def test_a_customer_active_within_the_idle_timeout_stays_signed_in(actors, settings):
    client = signed_in(actors.customer)
    age_session(client, signed_in_ago=5 * 24 * HOUR, last_seen_ago=settings.SESSION_IDLE_TIMEOUT_SECONDS - 60)

    assert is_signed_in(client)
    assert is_signed_in(client)


def test_an_idle_customer_session_ends_and_says_why(actors, settings):
    client = signed_in(actors.customer)
    age_session(client, signed_in_ago=4 * 24 * HOUR, last_seen_ago=settings.SESSION_IDLE_TIMEOUT_SECONDS + 60)

    page = client.get("/account/", follow=True)

    assert page.redirect_chain and "/accounts/login/" in page.redirect_chain[-1][0]
    assert "signed out after a while without activity" in page.content.decode()
    assert not is_signed_in(client)


def test_a_staff_session_ends_after_a_shift_however_active(actors, settings):
    # Given a chef who signed in a shift ago and used the site a minute ago
    client = signed_in(actors.chef)
    age_session(client, signed_in_ago=settings.STAFF_SESSION_MAX_AGE_SECONDS + 60, last_seen_ago=60)

    # Then the next request signs them out
    assert not is_signed_in(client)


def test_a_customer_session_of_the_same_age_as_a_shift_goes_on(actors, settings):
    client = signed_in(actors.customer)
    age_session(client, signed_in_ago=settings.STAFF_SESSION_MAX_AGE_SECONDS + 60, last_seen_ago=60)

    assert is_signed_in(client)


def test_a_staff_session_idle_past_its_shorter_timeout_ends(actors, settings):
    client = signed_in(actors.manager)
    age_session(
        client, signed_in_ago=HOUR * 5, last_seen_ago=settings.STAFF_SESSION_IDLE_TIMEOUT_SECONDS + 60
    )

    assert not is_signed_in(client)


def test_an_ended_session_keeps_no_trace_of_the_user(actors, settings):
    client = signed_in(actors.chef)
    old_key = client.session.session_key
    age_session(client, signed_in_ago=settings.STAFF_SESSION_MAX_AGE_SECONDS + 60, last_seen_ago=60)

    client.get("/")

    assert not SessionStore().exists(old_key)
