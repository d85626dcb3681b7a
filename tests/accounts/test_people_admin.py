"""Managers set VIP and roles in admin, and cannot hand out more than the roles.

Nobody administers an account with more power than their own: a manager
never sees, opens, edits or sets the password of a superuser, another
manager or their own account in admin; only a superuser grants the manager
role, the staff flag or superuser.
"""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group, Permission
from django.urls import reverse

from accounts.models import User
from tests.conftest import PASSWORD, client_for
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "a-brand-new-passphrase-42"


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


def _group(name: str) -> int:
    return Group.objects.get(name=name).pk


def _groups_of(user: User) -> list[str]:
    return sorted(user.groups.values_list("name", flat=True))


def _change_url(user: User) -> str:
    return reverse("admin:accounts_user_change", args=[user.pk])


def _password_url(user: User) -> str:
    return reverse("admin:auth_user_password_change", args=[user.pk])


def _password_form() -> dict[str, str]:
    return {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD, "usable_password": "true"}


@pytest.fixture
def root(db) -> User:
    return UserFactory(username="rosa", is_superuser=True, is_staff=True)


@pytest.fixture
def other_manager(db) -> User:
    return UserFactory(username="milo", role="manager")


@pytest.fixture
def more_powerful(root, other_manager) -> dict[str, User]:
    """The accounts a manager may not administer, by what makes them so."""
    return {"a superuser": root, "another manager": other_manager}


# ---------------------------------------------------------------- the manager's job


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
    # The VIP group follows the tick (accounts.vip); the roles are what the form sent.
    assert _groups_of(actors.customer) == ["VIP", "chef"]


def test_a_manager_lists_customers_waiters_and_chefs(actors):
    response = client_for(actors.manager).get(reverse("admin:accounts_user_changelist"))

    assert response.status_code == 200
    listed = {user.pk for user in response.context["cl"].result_list}
    assert {actors.customer.pk, actors.other_customer.pk, actors.waiter.pk, actors.chef.pk} <= listed


def test_a_manager_sets_a_waiters_password_and_changes_a_chefs_email(actors):
    manager = client_for(actors.manager)

    password = manager.post(_password_url(actors.waiter), _password_form())
    email = manager.post(
        _change_url(actors.chef),
        _change_form(manager, actors.chef) | {"email": "chen@kitchen.test", "groups": [_group("chef")]},
    )

    assert password.status_code == 302, password.content.decode()[:2000]
    assert email.status_code == 302, email.content.decode()[:2000]
    actors.waiter.refresh_from_db()
    actors.chef.refresh_from_db()
    assert actors.waiter.check_password(NEW_PASSWORD)
    assert actors.chef.email == "chen@kitchen.test"
    assert _groups_of(actors.chef) == ["chef"]


def test_a_manager_makes_a_waiter_a_chef_and_a_customer_again(actors):
    manager = client_for(actors.manager)

    manager.post(
        _change_url(actors.waiter), _change_form(manager, actors.waiter) | {"groups": [_group("chef")]}
    )
    manager.post(_change_url(actors.chef), _change_form(manager, actors.chef))

    assert _groups_of(actors.waiter) == ["chef"]
    assert _groups_of(actors.chef) == []


# ---------------------------------------------------------------- more powerful accounts are out of sight


@pytest.mark.parametrize("target", ["a superuser", "another manager"])
def test_a_manager_does_not_see_a_more_powerful_account_in_the_list(actors, more_powerful, target):
    account = more_powerful[target]
    manager = client_for(actors.manager)

    listing = manager.get(reverse("admin:accounts_user_changelist"))
    searched = manager.get(reverse("admin:accounts_user_changelist"), {"q": account.email})

    assert listing.status_code == 200
    assert account.pk not in {user.pk for user in listing.context["cl"].result_list}
    assert account.email not in listing.content.decode()
    assert list(searched.context["cl"].result_list) == []


@pytest.mark.parametrize("target", ["a superuser", "another manager"])
@pytest.mark.parametrize(
    "page", ["admin:accounts_user_change", "admin:auth_user_password_change", "admin:accounts_user_history"]
)
def test_a_manager_cannot_open_a_more_powerful_account(actors, more_powerful, target, page):
    account = more_powerful[target]

    response = client_for(actors.manager).get(reverse(page, args=[account.pk]))

    assert response.status_code == 404
    assert account.email not in response.content.decode()


@pytest.mark.parametrize("target", ["a superuser", "another manager"])
def test_a_manager_cannot_set_the_password_of_a_more_powerful_account(actors, more_powerful, target):
    account = more_powerful[target]

    response = client_for(actors.manager).post(_password_url(account), _password_form())

    assert response.status_code == 404
    account.refresh_from_db()
    assert account.check_password(PASSWORD)
    assert not account.check_password(NEW_PASSWORD)


@pytest.mark.parametrize("target", ["a superuser", "another manager"])
def test_a_manager_cannot_change_the_email_roles_or_vip_of_a_more_powerful_account(
    actors, more_powerful, target
):
    account = more_powerful[target]
    groups_before = _groups_of(account)
    manager = client_for(actors.manager)
    # Change the email to one the manager reads, drop every role, tick VIP:
    # the takeover the finding describes, and an ordinary edit besides.
    data = _change_form(manager, account) | {"email": "maya+takeover@example.test", "is_vip": "on"}

    response = manager.post(_change_url(account), data)

    assert response.status_code == 404
    account.refresh_from_db()
    assert account.email != "maya+takeover@example.test"
    assert not account.is_vip
    assert _groups_of(account) == groups_before
    assert account.is_staff


@pytest.mark.parametrize("target", ["a superuser", "another manager"])
def test_a_manager_cannot_tick_vip_on_a_more_powerful_account_from_the_list(actors, more_powerful, target):
    account = more_powerful[target]

    client_for(actors.manager).post(
        reverse("admin:accounts_user_changelist"),
        {
            "form-TOTAL_FORMS": "1",
            "form-INITIAL_FORMS": "1",
            "form-MIN_NUM_FORMS": "0",
            "form-MAX_NUM_FORMS": "1000",
            "form-0-id": str(account.pk),
            "form-0-is_vip": "on",
            "_save": "Save",
        },
    )

    account.refresh_from_db()
    assert not account.is_vip


@pytest.mark.parametrize("target", ["a superuser", "another manager"])
def test_a_bulk_action_by_a_manager_never_touches_a_more_powerful_account(actors, more_powerful, target):
    account = more_powerful[target]

    client_for(actors.manager).post(
        reverse("admin:accounts_user_changelist"),
        {"action": "delete_selected", "_selected_action": [account.pk], "post": "yes"},
    )

    assert User.objects.filter(pk=account.pk, is_active=True).exists()


# ---------------------------------------------------------------- no escalation


def test_a_manager_cannot_make_anyone_superuser(actors):
    manager = client_for(actors.manager)
    data = _change_form(manager, actors.customer) | {"is_superuser": "on"}

    manager.post(reverse("admin:accounts_user_change", args=[actors.customer.pk]), data)

    actors.customer.refresh_from_db()
    assert not actors.customer.is_superuser


def test_a_manager_cannot_grant_the_manager_role(actors):
    manager = client_for(actors.manager)
    data = _change_form(manager, actors.waiter) | {"groups": [_group("waiter"), _group("manager")]}

    response = manager.post(_change_url(actors.waiter), data)

    assert response.status_code == 200  # the form again, with the refused choice marked
    assert _groups_of(actors.waiter) == ["waiter"]


def test_a_manager_cannot_tick_the_staff_flag(actors):
    manager = client_for(actors.manager)
    data = _change_form(manager, actors.chef) | {"groups": [_group("chef")], "is_staff": "on"}

    manager.post(_change_url(actors.chef), data)

    actors.chef.refresh_from_db()
    assert not actors.chef.is_staff


def test_a_manager_cannot_add_a_group_that_is_not_a_role_they_grant(actors):
    auditors = Group.objects.create(name="auditors")
    auditors.permissions.add(Permission.objects.get(codename="change_group"))
    manager = client_for(actors.manager)
    data = _change_form(manager, actors.customer) | {"groups": [auditors.pk]}

    response = manager.post(_change_url(actors.customer), data)

    assert response.status_code == 200
    assert _groups_of(actors.customer) == ["customer"]


def test_a_manager_cannot_administer_their_own_account_in_admin(actors):
    manager = client_for(actors.manager)
    data = _change_form(manager, actors.manager) | {"is_vip": "on", "email": "maya@elsewhere.test"}

    opened = manager.get(_change_url(actors.manager))
    saved = manager.post(_change_url(actors.manager), data)
    password = manager.post(_password_url(actors.manager), _password_form())

    assert (opened.status_code, saved.status_code, password.status_code) == (404, 404, 404)
    # Their own password changes on admin's page that asks for the current one.
    assert manager.get(reverse("admin:password_change")).status_code == 200
    actors.manager.refresh_from_db()
    assert not actors.manager.is_vip
    assert actors.manager.email == "maya@example.test"
    assert actors.manager.check_password(PASSWORD)


def test_an_account_holding_a_raw_permission_is_out_of_a_managers_reach(actors):
    actors.waiter.user_permissions.add(Permission.objects.get(codename="change_group"))

    response = client_for(actors.manager).get(_change_url(actors.waiter))

    assert response.status_code == 404


def test_a_manager_only_reads_the_role_groups(actors):
    manager_group = Group.objects.get(name="manager")
    permissions_before = set(manager_group.permissions.values_list("pk", flat=True))
    manager = client_for(actors.manager)
    change_group = reverse("admin:auth_group_change", args=[manager_group.pk])

    read = manager.get(change_group)
    write = manager.post(
        change_group,
        {"name": "manager", "permissions": list(Permission.objects.values_list("pk", flat=True))},
    )
    add = manager.post(reverse("admin:auth_group_add"), {"name": "owners"})

    assert (read.status_code, write.status_code, add.status_code) == (200, 403, 403)
    assert set(manager_group.permissions.values_list("pk", flat=True)) == permissions_before
    assert not Group.objects.filter(name="owners").exists()


def test_a_customer_cannot_make_themselves_vip(actors):
    response = client_for(actors.customer).post(
        reverse("admin:accounts_user_change", args=[actors.customer.pk]), {"is_vip": "on"}
    )
    assert response.status_code == 302
    assert reverse("admin:login") in response["Location"]
    actors.customer.refresh_from_db()
    assert not actors.customer.is_vip


# ---------------------------------------------------------------- a superuser does it all


def test_a_superuser_opens_and_sets_the_password_of_every_account(actors, root, other_manager):
    other_root = UserFactory(username="rex", is_superuser=True, is_staff=True)
    superuser = client_for(root)

    for account in (actors.customer, actors.manager, other_manager, other_root, root):
        assert superuser.get(_change_url(account)).status_code == 200, account
        assert superuser.post(_password_url(account), _password_form()).status_code == 302, account
        account.refresh_from_db()
        assert account.check_password(NEW_PASSWORD), account


def test_a_superuser_grants_and_revokes_the_manager_role_and_staff(actors, root, other_manager):
    superuser = client_for(root)

    granted = superuser.post(
        _change_url(actors.waiter),
        _change_form(superuser, actors.waiter) | {"groups": [_group("manager")], "is_staff": "on"},
    )
    revoked = superuser.post(
        _change_url(other_manager),
        _change_form(superuser, other_manager) | {"groups": [_group("chef")], "is_vip": "on"},
    )

    assert (granted.status_code, revoked.status_code) == (302, 302)
    actors.waiter.refresh_from_db()
    other_manager.refresh_from_db()
    assert _groups_of(actors.waiter) == ["manager"] and actors.waiter.is_staff
    assert (
        _groups_of(other_manager) == ["VIP", "chef"] and not other_manager.is_staff and other_manager.is_vip
    )
