"""Sign-in resists guessing and never tells whether an account exists."""

from __future__ import annotations

import json
import logging

import pytest
from django.core import mail
from django.urls import reverse

from tests.conftest import PASSWORD, client_for

pytestmark = pytest.mark.django_db

NEUTRAL = "The email address and/or password you specified are not correct."


def _sign_in(client, email: str, password: str, ip: str, **extra):
    return client.post(
        reverse("account_login"), {"login": email, "password": password}, REMOTE_ADDR=ip, **extra
    )


def _signed_in_as(client, user) -> bool:
    return client.session.get("_auth_user_id") == str(user.pk)


def test_twenty_wrong_passwords_from_one_ip_are_limited_and_others_still_sign_in(verified_actors):
    actors = verified_actors
    attacker = client_for(None)

    answers = [_sign_in(attacker, actors.customer.email, f"guess-{n}", "203.0.113.9") for n in range(20)]

    statuses = [answer.status_code for answer in answers]
    assert statuses[0] == 200 and NEUTRAL in answers[0].content.decode()
    assert 429 in statuses
    limited = answers[statuses.index(429)]
    assert int(limited["Retry-After"]) > 0
    assert "Too many attempts" in limited.content.decode()
    assert actors.customer.email not in limited.content.decode()
    # Once limited, stays limited: even the right password from that IP is refused.
    assert _sign_in(attacker, actors.customer.email, PASSWORD, "203.0.113.9").status_code == 429

    # Another person, another IP, their own right password: signed in.
    other = client_for(None)
    response = _sign_in(other, actors.other_customer.email, PASSWORD, "198.51.100.7")
    assert response.status_code == 302
    assert other.session.get("_auth_user_id") == str(actors.other_customer.pk)


def test_guessing_one_account_from_many_ips_is_limited_per_account(actors):
    statuses = [
        _sign_in(client_for(None), actors.customer.email, f"guess-{n}", f"192.0.2.{n}").status_code
        for n in range(12)
    ]
    assert 429 in statuses
    assert statuses[0] == 200


def test_an_unknown_email_gets_the_same_answer_as_a_wrong_password(actors):
    wrong_password = _sign_in(client_for(None), actors.customer.email, "nope-nope", "192.0.2.50")
    unknown_email = _sign_in(client_for(None), "nobody@example.test", "nope-nope", "192.0.2.51")

    assert wrong_password.status_code == unknown_email.status_code == 200
    assert NEUTRAL in wrong_password.content.decode()
    assert NEUTRAL in unknown_email.content.decode()


def test_password_reset_never_says_whether_an_account_exists(actors, client):
    known = client.post(reverse("account_reset_password"), {"email": actors.customer.email})
    unknown = client.post(reverse("account_reset_password"), {"email": "nobody@example.test"})

    assert known.status_code == unknown.status_code == 302
    assert known["Location"] == unknown["Location"]
    # allauth mails the unknown address too, saying no account exists: only the
    # mailbox owner learns it.
    recipients = sorted(address for message in mail.outbox for address in message.to)
    assert recipients == sorted([actors.customer.email, "nobody@example.test"])


def test_sign_in_events_are_logged_without_the_email_or_password(verified_actors, caplog):
    actors = verified_actors
    caplog.set_level(logging.INFO, logger="brigade.security")

    _sign_in(client_for(None), actors.customer.email, "wrong-secret", "192.0.2.60")
    _sign_in(client_for(None), actors.customer.email, PASSWORD, "192.0.2.61")

    events = [
        (record.getMessage(), record.__dict__)
        for record in caplog.records
        if record.name == "brigade.security"
    ]
    assert [name for name, _ in events] == ["sign-in failed", "sign-in succeeded"]
    dump = json.dumps([{k: str(v) for k, v in fields.items()} for _, fields in events])
    assert actors.customer.email not in dump
    assert "wrong-secret" not in dump and PASSWORD not in dump
    assert events[0][1]["ip"] == "192.0.2.60"


# ---------------------------------------------------------------- behind the proxy

PROXY = "10.0.0.2"


def test_behind_the_proxy_one_client_rotating_x_forwarded_for_is_still_one_client(verified_actors, settings):
    # Given the documented nginx in front (one proxy), which appends the
    # address it saw to whatever X-Forwarded-For the client sent.
    actors = verified_actors
    settings.TRUSTED_PROXY_COUNT = 1
    attacker = client_for(None)

    # When one client makes up a new X-Forwarded-For for every guess, at many accounts.
    statuses = [
        _sign_in(
            attacker,
            f"nobody-{n}@example.test",
            "guess",
            PROXY,
            HTTP_X_FORWARDED_FOR=f"192.0.2.{n}, 203.0.113.9",
        ).status_code
        for n in range(15)
    ]

    # Then its per-IP budget runs out all the same (10 per 5 minutes) ...
    assert statuses[:10] == [200] * 10
    assert set(statuses[10:]) == {429}
    # ... and everyone else behind the same proxy still signs in.
    other = client_for(None)
    response = _sign_in(other, actors.customer.email, PASSWORD, PROXY, HTTP_X_FORWARDED_FOR="198.51.100.7")
    assert response.status_code == 302
    assert _signed_in_as(other, actors.customer)


def test_the_security_log_names_the_client_behind_the_proxy(verified_actors, settings, caplog):
    settings.TRUSTED_PROXY_COUNT = 1
    caplog.set_level(logging.INFO, logger="brigade.security")

    _sign_in(
        client_for(None),
        verified_actors.customer.email,
        "wrong",
        PROXY,
        HTTP_X_FORWARDED_FOR="6.6.6.6, 203.0.113.9",
    )

    record = next(r for r in caplog.records if r.getMessage() == "sign-in failed")
    assert record.ip == "203.0.113.9"


# ---------------------------------------------------------------- per account: failures only


def test_signing_in_often_never_spends_the_account_budget(verified_actors):
    # Given an account whose budget is 8 failures per 15 minutes.
    owner = verified_actors.manager

    # When its owner signs in rightly, again and again, from their own addresses.
    for n in range(12):
        client = client_for(None)
        assert _sign_in(client, owner.email, PASSWORD, f"198.51.100.{n}").status_code == 302
        assert _signed_in_as(client, owner)

    # Then the budget is untouched: 8 wrong guesses from elsewhere are still
    # answered, and the 9th attempt is the first refused.
    guesses = [_sign_in(client_for(None), owner.email, "guess", f"192.0.2.{n}").status_code for n in range(9)]
    assert guesses == [200] * 8 + [429]


def test_a_strangers_wrong_guesses_lock_the_account_and_even_the_right_password_waits(verified_actors):
    owner = verified_actors.manager
    stranger_ips = [f"192.0.2.{n}" for n in range(8)]

    for ip in stranger_ips:
        assert _sign_in(client_for(None), owner.email, "guess", ip).status_code == 200

    # Over the budget, the right password is refused too (a 302 here would
    # tell the guesser the moment a guess was right), with the time to wait.
    client = client_for(None)
    refused = _sign_in(client, owner.email, PASSWORD, "198.51.100.1")
    assert refused.status_code == 429
    assert 0 < int(refused["Retry-After"]) <= 15 * 60
    assert not _signed_in_as(client, owner)
    # Other accounts are not affected.
    other = client_for(None)
    assert _sign_in(other, verified_actors.customer.email, PASSWORD, "198.51.100.1").status_code == 302


def test_the_per_ip_budget_counts_every_attempt_right_or_wrong(verified_actors):
    # Eleven sign-ins from one office address, each in its own browser.
    statuses = [
        _sign_in(client_for(None), verified_actors.customer.email, PASSWORD, "203.0.113.50").status_code
        for _ in range(11)
    ]

    assert statuses == [302] * 10 + [429]


def test_a_role_change_is_logged(actors, caplog):
    from django.contrib.auth.models import Group

    caplog.set_level(logging.INFO, logger="brigade.security")
    actors.customer.groups.add(Group.objects.get(name="chef"))

    record = next(r for r in caplog.records if r.getMessage() == "roles changed")
    assert record.user_id == actors.customer.pk
    assert "chef" in record.roles


def test_api_clients_get_json_errors_with_no_internals(client):
    response = client.get("/api/v1/nothing-here/", HTTP_ACCEPT="application/json")

    assert response.status_code == 404
    body = response.json()
    assert body["error"]["code"] == "not_found"
    assert set(body["error"]) == {"code", "message", "data", "request_id"}
    assert body["error"]["request_id"] == response["X-Request-ID"]


def test_a_refund_is_logged_as_a_security_event(actors, small_menu, caplog):
    from accounts.roles import Actor
    from orders.models import OrderStatus
    from orders.pricing import CartLine
    from orders.services import OrderDetails, order_place, order_transition

    caplog.set_level(logging.INFO, logger="brigade.security")
    order, _ = order_place(
        lines=[CartLine(small_menu.fries.pk, 1)],
        details=OrderDetails(order_type="pickup", contact_name="A", contact_email="a@example.test"),
        actor=Actor.guest(),
    )
    order = order_transition(order=order, to_status=OrderStatus.PAID, actor=Actor.system("test"))
    order_transition(order=order, to_status=OrderStatus.REFUNDED, actor=Actor.for_user(actors.manager))

    record = next(r for r in caplog.records if r.getMessage() == "order refunded")
    assert record.order_id == order.pk
    assert record.actor == actors.manager.email
