"""Signing up never tells whether an address already has an account."""

from __future__ import annotations

import pytest
from django.core import mail
from django.urls import reverse

from tests.conftest import client_for

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "a-long-new-password-42"


def _sign_up(email: str, ip: str):
    client = client_for(None)
    response = client.post(
        reverse("account_signup"),
        {"email": email, "password1": NEW_PASSWORD, "password2": NEW_PASSWORD},
        REMOTE_ADDR=ip,
    )
    return client, response


def _mails_to(address: str) -> list:
    return [message for message in mail.outbox if address in message.to]


def test_signing_up_with_a_taken_address_answers_as_with_a_free_one(verified_actors):
    taken = verified_actors.customer.email
    free = "newcomer@example.test"

    taken_client, taken_answer = _sign_up(taken, "192.0.2.31")
    free_client, free_answer = _sign_up(free, "192.0.2.32")

    # The same redirect, to the same page, saying the same thing.
    assert taken_answer.status_code == free_answer.status_code == 302
    assert taken_answer["Location"] == free_answer["Location"] == reverse("account_email_verification_sent")
    taken_page = taken_client.get(taken_answer["Location"]).content.decode()
    free_page = free_client.get(free_answer["Location"]).content.decode()
    assert "already" not in taken_page.lower()
    assert taken_page.replace(taken, "EMAIL") == free_page.replace(free, "EMAIL")
    # Nobody is signed in by signing up: the address must be proven first.
    assert "_auth_user_id" not in taken_client.session
    assert "_auth_user_id" not in free_client.session

    # Only the mailbox owner learns the difference.
    (to_new,) = _mails_to(free)
    assert "confirm" in to_new.subject.lower()
    assert "/accounts/confirm-email/" in to_new.body
    (to_owner,) = _mails_to(taken)
    assert "account already exists" in to_owner.subject.lower()
    assert "/accounts/confirm-email/" not in to_owner.body
    # The taken account is untouched: still one user, with its own password.
    assert verified_actors.customer.__class__.objects.filter(email__iexact=taken).count() == 1


def test_the_new_account_signs_in_only_after_confirming_its_address(db):
    client, _ = _sign_up("newcomer@example.test", "192.0.2.33")
    (message,) = mail.outbox
    link = next(word for word in message.body.split() if "/accounts/confirm-email/" in word)

    confirm_path = link.split("testserver", 1)[-1]
    client.post(confirm_path)
    response = client.post(
        reverse("account_login"),
        {"login": "newcomer@example.test", "password": NEW_PASSWORD},
        REMOTE_ADDR="192.0.2.33",
    )

    assert response.status_code == 302
    assert "_auth_user_id" in client.session
