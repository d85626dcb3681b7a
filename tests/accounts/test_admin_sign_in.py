"""Admin is signed in to through allauth: one limiter, and a second factor for managers."""

from __future__ import annotations

import time
from io import StringIO
from urllib.parse import parse_qs, urlsplit

import pytest
from django.core.management import call_command
from django.urls import reverse

from menu.management.commands.seed_demo import DEMO_USERS
from tests.accounts.mfa_helpers import recovery_codes_of, totp_code, totp_for
from tests.conftest import PASSWORD, client_for

pytestmark = pytest.mark.django_db

ATTACKER_IP = "203.0.113.66"


def _signed_in_as(client, user) -> bool:
    return client.session.get("_auth_user_id") == str(user.pk)


def _where_admin_sends(client, **extra) -> str:
    """The sign-in page admin's login sends a visitor to, with its next= kept."""
    response = client.get(reverse("admin:login") + "?next=" + reverse("admin:index"), **extra)
    assert response.status_code == 302
    return response["Location"]


def _password(client, url: str, email: str, password: str, ip: str = "198.51.100.20"):
    return client.post(url, {"login": email, "password": password}, REMOTE_ADDR=ip)


@pytest.fixture
def mfa_enforced(settings):  # type: ignore[no-untyped-def]
    # As in production (DJANGO_ENV=production turns it on by default).
    settings.STAFF_MFA_REQUIRED = True
    settings.MFA_TOTP_TOLERANCE = 1


# ---------------------------------------------------------------- the admin door


def test_admin_has_no_sign_in_form_of_its_own(verified_actors):
    manager = verified_actors.manager
    client = client_for(None)

    page = _where_admin_sends(client)
    posted = client.post(
        reverse("admin:login"), {"username": manager.email, "password": PASSWORD, "next": "/admin/"}
    )

    assert urlsplit(page).path == reverse("account_login")
    assert parse_qs(urlsplit(page).query)["next"] == [reverse("admin:index")]
    # Credentials posted to admin's old form sign nobody in.
    assert posted.status_code == 302
    assert urlsplit(posted["Location"]).path == reverse("account_login")
    assert not _signed_in_as(client, manager)


def test_admin_sign_in_sends_nobody_off_site(verified_actors):
    client = client_for(verified_actors.manager)

    response = client.get(reverse("admin:login") + "?next=https://evil.example/")

    assert response.status_code == 302
    assert response["Location"] == reverse("admin:index")


def test_25_wrong_passwords_at_admin_sign_in_are_stopped_and_the_right_one_waits_for_the_window(
    verified_actors, monkeypatch
):
    manager = verified_actors.manager
    attacker = client_for(None)
    page = _where_admin_sends(attacker)

    answers = [_password(attacker, page, manager.email, f"guess-{n}", ATTACKER_IP) for n in range(25)]

    statuses = [answer.status_code for answer in answers]
    assert statuses[0] == 200
    first_refused = statuses.index(429)
    assert first_refused <= 10
    assert set(statuses[first_refused:]) == {429}
    retry_after = int(answers[-1]["Retry-After"])
    assert 0 < retry_after <= 15 * 60
    # The right password does not get in while the window lasts ...
    assert _password(attacker, page, manager.email, PASSWORD, ATTACKER_IP).status_code == 429
    assert not _signed_in_as(attacker, manager)

    # ... and does once it has passed.
    now = time.time()
    monkeypatch.setattr(time, "time", lambda: now + retry_after + 1)
    response = _password(attacker, page, manager.email, PASSWORD, ATTACKER_IP)
    assert response.status_code == 302
    assert response["Location"] == reverse("admin:index")
    assert _signed_in_as(attacker, manager)
    assert attacker.get(reverse("admin:index")).status_code == 200


# ---------------------------------------------------------------- the second factor


def test_a_manager_with_an_authenticator_app_must_pass_it_before_admin_opens(verified_actors, mfa_enforced):
    manager = verified_actors.manager
    secret = totp_for(manager)
    client = client_for(None)
    page = _where_admin_sends(client)

    after_password = _password(client, page, manager.email, PASSWORD)

    assert after_password.status_code == 302
    assert after_password["Location"] == reverse("mfa_authenticate")
    assert not _signed_in_as(client, manager)
    assert client.get(reverse("admin:index")).status_code == 302

    wrong = client.post(
        reverse("mfa_authenticate"), {"code": "000000" if totp_code(secret) != "000000" else "111111"}
    )
    assert wrong.status_code == 200
    assert "Incorrect code" in wrong.content.decode()
    assert not _signed_in_as(client, manager)

    right = client.post(reverse("mfa_authenticate"), {"code": totp_code(secret)})
    assert right.status_code == 302
    assert right["Location"] == reverse("admin:index")
    assert _signed_in_as(client, manager)
    assert client.get(reverse("admin:index")).status_code == 200


def test_a_recovery_code_passes_the_second_factor_once(verified_actors, mfa_enforced):
    manager = verified_actors.manager
    totp_for(manager)
    code = recovery_codes_of(manager)[0]

    first = client_for(None)
    _password(first, _where_admin_sends(first), manager.email, PASSWORD)
    assert first.post(reverse("mfa_authenticate"), {"code": code}).status_code == 302
    assert _signed_in_as(first, manager)
    assert first.get(reverse("admin:index")).status_code == 200

    again = client_for(None)
    _password(again, _where_admin_sends(again), manager.email, PASSWORD)
    assert again.post(reverse("mfa_authenticate"), {"code": code}).status_code == 200
    assert not _signed_in_as(again, manager)


def test_in_production_a_manager_without_an_authenticator_is_sent_to_set_one_up(
    verified_actors, mfa_enforced
):
    manager = verified_actors.manager
    client = client_for(None)

    _password(client, _where_admin_sends(client), manager.email, PASSWORD)
    assert _signed_in_as(client, manager)  # the rest of the site is open to them

    refused = client.get(reverse("admin:index"))
    assert refused.status_code == 302
    sent_to = client.get(refused["Location"])
    assert sent_to.status_code == 302
    assert urlsplit(sent_to["Location"]).path == reverse("mfa_activate_totp")
    assert client.get(reverse("admin:orders_order_changelist")).status_code == 302

    # Setting up the app: the password once more, then allauth's page (scan, type a code).
    again = client.get(sent_to["Location"])
    assert urlsplit(again["Location"]).path == reverse("account_reauthenticate")
    back = client.post(again["Location"], {"password": PASSWORD})
    assert back.status_code == 302
    setup = client.get(back["Location"])
    assert setup.status_code == 200
    secret = setup.context["form"].secret
    activated = client.post(reverse("mfa_activate_totp"), {"code": totp_code(secret)})
    assert activated.status_code == 302
    assert manager.authenticator_set.filter(type="totp").exists()
    # Activating proves the app once; admin asks for it as a second factor of this session.
    refused = client.get(reverse("admin:index"))
    sent_to = client.get(refused["Location"])
    assert urlsplit(sent_to["Location"]).path == reverse("mfa_reauthenticate")
    passed = client.post(sent_to["Location"], {"code": totp_code(secret, step=1)})
    assert passed.status_code == 302
    assert client.get(reverse("admin:index")).status_code == 200


def test_a_session_that_skipped_the_second_factor_is_asked_for_it(verified_actors, mfa_enforced):
    manager = verified_actors.manager
    secret = totp_for(manager)
    client = client_for(manager)  # signed in without passing through the MFA stage

    refused = client.get(reverse("admin:index"))
    sent_to = client.get(refused["Location"])

    assert urlsplit(sent_to["Location"]).path == reverse("mfa_reauthenticate")
    client.post(reverse("mfa_reauthenticate"), {"code": totp_code(secret)})
    assert client.get(reverse("admin:index")).status_code == 200


def test_staff_who_are_not_managers_are_refused_admin_even_after_a_second_factor(
    verified_actors, mfa_enforced
):
    chef = verified_actors.chef
    chef.is_staff = True
    chef.save()
    secret = totp_for(chef)
    client = client_for(None)
    _password(client, _where_admin_sends(client), chef.email, PASSWORD)
    client.post(reverse("mfa_authenticate"), {"code": totp_code(secret)})
    assert _signed_in_as(client, chef)

    assert client.get(reverse("admin:index")).status_code == 302
    assert client.get(reverse("admin:login")).status_code == 403


def test_in_development_the_demo_manager_gets_in_with_a_password(verified_actors, settings):
    settings.STAFF_MFA_REQUIRED = False
    manager = verified_actors.manager
    client = client_for(None)

    response = _password(client, _where_admin_sends(client), manager.email, PASSWORD)

    assert response["Location"] == reverse("admin:index")
    assert client.get(reverse("admin:index")).status_code == 200


def test_wrong_second_factor_codes_spend_the_accounts_failure_budget(verified_actors, mfa_enforced):
    manager = verified_actors.manager
    secret = totp_for(manager)
    wrong = "000000" if totp_code(secret) != "000000" else "111111"
    client = client_for(None)
    _password(client, reverse("account_login"), manager.email, PASSWORD)

    # Each guess from its own address: only the account budget (8 failures) can stop them.
    statuses = [
        client.post(reverse("mfa_authenticate"), {"code": wrong}, REMOTE_ADDR=f"192.0.2.{n}").status_code
        for n in range(9)
    ]

    assert statuses == [200] * 8 + [429]
    refused = client.post(reverse("mfa_authenticate"), {"code": totp_code(secret)}, REMOTE_ADDR="192.0.2.99")
    assert refused.status_code == 429
    assert not _signed_in_as(client, manager)


# ---------------------------------------------------------------- the embedded demo


def test_the_demo_manager_signs_in_through_the_sign_in_page_and_the_banner_says_no_second_factor(settings):
    settings.STAFF_MFA_REQUIRED = False  # as `make run` has it
    call_command("seed_demo", stdout=StringIO())
    banner = StringIO()
    call_command("demo_banner", stdout=banner)
    demo = next(user for user in DEMO_USERS if user["role"] == "manager")
    client = client_for(None)

    # Seeded addresses are verified, so mandatory verification lets them straight in.
    response = _password(client, _where_admin_sends(client), demo["email"], demo["password"])

    assert response["Location"] == reverse("admin:index")
    assert client.get(reverse("admin:index")).status_code == 200
    assert "Second factor: NOT required here" in banner.getvalue()
    settings.STAFF_MFA_REQUIRED = True
    call_command("demo_banner", stdout=(enforced := StringIO()))
    assert "Admin needs a second factor" in enforced.getvalue()


def test_a_chef_sets_up_an_authenticator_app_from_their_account_page(verified_actors, mfa_enforced):
    chef = verified_actors.chef
    client = client_for(None)
    _password(client, reverse("account_login"), chef.email, PASSWORD)

    account_page = client.get(reverse("account_profile:index")).content.decode()
    assert reverse("mfa_index") in account_page
    again = client.get(reverse("mfa_activate_totp"))
    assert urlsplit(again["Location"]).path == reverse("account_reauthenticate")
    client.post(again["Location"], {"password": PASSWORD})
    secret = client.get(reverse("mfa_activate_totp")).context["form"].secret
    client.post(reverse("mfa_activate_totp"), {"code": totp_code(secret)})

    # From now on, signing in asks for the app's code.
    client.post(reverse("account_logout"))
    after_password = _password(client, reverse("account_login"), chef.email, PASSWORD)
    assert after_password["Location"] == reverse("mfa_authenticate")
    client.post(reverse("mfa_authenticate"), {"code": totp_code(secret, step=1)})
    assert _signed_in_as(client, chef)
