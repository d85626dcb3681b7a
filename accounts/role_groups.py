"""Keeps each role's Django group holding exactly the permissions the matrix implies."""

from __future__ import annotations

from typing import Any

from django.apps import apps as global_apps
from django.contrib.auth.management import create_permissions
from django.db import transaction
from django.db.models import Q

from accounts.permissions import django_permissions_of
from accounts.roles import GROUP_ROLES


def _permission_filter(permissions: tuple[str, ...]) -> Q:
    query = Q(pk__in=[])
    for permission in permissions:
        app_label, codename = permission.split(".", 1)
        query |= (
            Q(content_type__app_label=app_label)
            if codename == "*"
            else Q(content_type__app_label=app_label, codename=codename)
        )
    return query


def role_groups_sync(*, using: str = "default") -> None:
    """Creates the role groups and sets their permissions from accounts.permissions."""
    from django.contrib.auth.models import Group, Permission

    # Permissions are created after migrate by auth's own post_migrate handler;
    # make sure they exist whatever order the handlers run in.
    for app_config in global_apps.get_app_configs():
        create_permissions(app_config, verbosity=0, using=using)
    with transaction.atomic(using=using):
        for role in GROUP_ROLES:
            group, _ = Group.objects.using(using).get_or_create(name=role.value)
            wanted = Permission.objects.using(using).filter(_permission_filter(django_permissions_of(role)))
            group.permissions.set(wanted)


def sync_after_migrate(sender: Any, using: str = "default", **kwargs: Any) -> None:
    if sender.name == "accounts":
        role_groups_sync(using=using)
