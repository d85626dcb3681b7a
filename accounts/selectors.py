"""Reads of a customer's own details and saved addresses, of who administers whom, and of app sessions."""

from __future__ import annotations

import uuid

from django.contrib.auth.models import AnonymousUser, Group
from django.db.models import QuerySet
from django.utils.crypto import constant_time_compare

from accounts.models import Address, AppSession, User
from accounts.permissions import ROLES_MANAGERS_GRANT, Capability, can
from accounts.vip import VIP_GROUP

_MAX_ID = 2**63 - 1


def addresses_of(*, user: User) -> QuerySet[Address]:
    """The customer's saved addresses, the default first."""
    return Address.objects.filter(user=user).order_by("-is_default", "label", "pk")


def address_of(*, user: User, address_id: int) -> Address | None:
    """One of the customer's own addresses, or None (also for anybody else's)."""
    if not 0 < address_id <= _MAX_ID:
        return None
    return Address.objects.filter(user=user, pk=address_id).first()


def default_address_for(*, user: User | AnonymousUser) -> Address | None:
    if not user.is_authenticated:
        return None
    return Address.objects.filter(user=user, is_default=True).first()


# ---------------------------------------------------------------- who administers whom


def _is_superuser(user: User | AnonymousUser) -> bool:
    return user.is_authenticated and user.is_active and user.is_superuser


def groups_grantable_by(*, editor: User | AnonymousUser) -> QuerySet[Group]:
    """The groups `editor` may put an account in or take it out of."""
    if _is_superuser(editor):
        # VIP follows the account's VIP tick (accounts.vip), never the roles widget.
        return Group.objects.exclude(name=VIP_GROUP)
    if can(editor, Capability.MANAGE_PEOPLE):
        return Group.objects.filter(name__in=[role.value for role in ROLES_MANAGERS_GRANT])
    return Group.objects.none()


def users_administrable_by(*, editor: User | AnonymousUser) -> QuerySet[User]:
    """The accounts `editor` may see and change in admin: the one rule of who administers whom.

    A superuser administers every account. Whoever manages people administers
    only the accounts with less power than their own, those they could have
    set up themselves: no superuser, nobody holding a raw permission, nobody
    in a group they may not grant (so no other manager), and not their own
    account, whose roles, staff flag and VIP would be theirs to raise and
    whose email and password change on the account pages, which ask for the
    current password. Everyone else administers nobody.
    """
    if _is_superuser(editor):
        return User.objects.all()
    if not can(editor, Capability.MANAGE_PEOPLE):
        return User.objects.none()
    assert isinstance(editor, User), "only a signed-in account manages people"
    # The VIP group grants nothing (it follows the VIP tick): a VIP stays in reach.
    out_of_reach = Group.objects.exclude(pk__in=groups_grantable_by(editor=editor)).exclude(name=VIP_GROUP)
    return (
        User.objects.filter(is_superuser=False, user_permissions=None)
        .exclude(pk=editor.pk)
        .exclude(groups__in=out_of_reach)
    )


def may_administer(*, editor: User | AnonymousUser, target: User) -> bool:
    return users_administrable_by(editor=editor).filter(pk=target.pk).exists()


def app_session_current(*, session_id: object) -> AppSession | None:
    """The open app session a token names, if its user may still use it; None otherwise.

    Asked on every request with an access token and on every refresh: a
    session ended by sign-out, a disabled account, or a password changed since
    sign-in (the auth hash differs, as for Django's own sessions) is refused.
    """
    try:
        pk = uuid.UUID(str(session_id))
    except ValueError:
        return None
    session = AppSession.objects.select_related("user").filter(pk=pk, ended_at__isnull=True).first()
    if session is None:
        return None
    user = session.user
    if not user.is_active or not constant_time_compare(session.auth_hash, user.get_session_auth_hash()):
        return None
    return session
