"""The session store's writes: one statement for a change, and a deleted session stays deleted."""

from __future__ import annotations

import pytest
from django.contrib.sessions.backends.base import UpdateError
from django.contrib.sessions.models import Session
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from restaurant.sessions import SessionStore
from tests.orders.flows import add_to_cart

# Real commits: inside a test's own transaction every atomic block is a savepoint.
pytestmark = pytest.mark.django_db(transaction=True)


def test_a_cart_change_saves_the_session_with_one_update_and_no_transaction_around_it(small_menu):
    # Given a visitor whose session exists already
    visitor = Client()
    add_to_cart(visitor, small_menu.fries)

    # When they add something else
    with CaptureQueriesContext(connection) as captured:
        assert add_to_cart(visitor, small_menu.lemonade, options=[small_menu.large]).status_code == 302

    # Then the session's row took one UPDATE, with no BEGIN and COMMIT of its own
    statements = [query["sql"] for query in captured.captured_queries]
    at = next(i for i, sql in enumerate(statements) if sql.startswith('UPDATE "django_session"'))
    assert statements[at - 1 : at] != ["BEGIN"] and statements[at + 1 : at + 2] != ["COMMIT"]
    cart = SessionStore(visitor.cookies["sessionid"].value).load()["cart"]
    assert len(cart) == 2


def test_a_session_deleted_meanwhile_is_not_brought_back_by_its_save():
    store = SessionStore()
    store["cart"] = [1]
    store.save(must_create=True)
    # Signed out in another tab while this request was still running
    Session.objects.filter(session_key=store.session_key).delete()

    store["cart"] = [1, 2]
    with pytest.raises(UpdateError):
        store.save()

    assert not Session.objects.filter(session_key=store.session_key).exists()
