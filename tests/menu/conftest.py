"""The VIP special, its flag and a VIP: shared by the menu's page and API tests."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group
from waffle.models import Flag

from accounts.vip import VIP_GROUP
from menu.flags import VIP_SPECIALS_FLAG
from menu.models import MenuItem
from tests.factories import MenuItemFactory, UserFactory


@pytest.fixture
def special(small_menu) -> MenuItem:
    return MenuItemFactory(
        category=small_menu.fries.category, name="Truffle Wagyu", slug="truffle-wagyu", is_special=True
    )


@pytest.fixture
def flag(db) -> Flag:
    # The migration made it (off, aimed at the VIP group); a flushed database has lost it.
    flag, _ = Flag.objects.get_or_create(name=VIP_SPECIALS_FLAG, defaults={"everyone": False})
    flag.groups.add(Group.objects.get_or_create(name=VIP_GROUP)[0])
    return flag


@pytest.fixture
def vip(db):
    user = UserFactory(username="vera", role="customer")
    user.is_vip = True
    user.save()
    return user
