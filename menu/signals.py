"""Every save that changes what the menu shows bumps the menu version after commit.

Receivers rather than calls in each writer, because admin forms, inlines,
list_editable and the demo seed all save these models directly; a writer
that bypasses signals (a queryset update()) calls menu.cache.menu_changed()
itself (menu.services). The flag "vip_specials" is here too: turning it on
or off changes who sees the specials, and ETags carry the version.
"""

from __future__ import annotations

from typing import Any

from django.db.models.signals import m2m_changed, post_delete, post_save
from waffle.models import Flag

from menu.cache import menu_changed
from menu.flags import VIP_SPECIALS_FLAG
from menu.models import (
    Allergen,
    Category,
    DietaryTag,
    MenuItem,
    MenuItemModifierGroup,
    ModifierGroup,
    ModifierOption,
    OptionRecipeLine,
    RecipeLine,
)

# Recipes decide what the pantry can make, so editing one can 86 an item or bring it back.
MENU_MODELS = (
    Allergen,
    Category,
    DietaryTag,
    MenuItem,
    MenuItemModifierGroup,
    ModifierGroup,
    ModifierOption,
    RecipeLine,
    OptionRecipeLine,
)
MENU_M2M = (MenuItem.allergens.through, MenuItem.dietary_tags.through)
FLAG_M2M = (Flag.groups.through, Flag.users.through)


def _menu_row_changed(sender: Any, raw: bool = False, **kwargs: Any) -> None:
    if not raw:
        menu_changed()


def _menu_links_changed(sender: Any, action: str, **kwargs: Any) -> None:
    if action in {"post_add", "post_remove", "post_clear"}:
        menu_changed()


def _flag_changed(sender: Any, instance: Any, raw: bool = False, **kwargs: Any) -> None:
    if not raw and isinstance(instance, Flag) and instance.name == VIP_SPECIALS_FLAG:
        menu_changed()


def _flag_links_changed(sender: Any, instance: Any, action: str, reverse: bool, **kwargs: Any) -> None:
    if action not in {"post_add", "post_remove", "post_clear"}:
        return
    # From a group's or user's side (reverse) the flags involved are not known: bump anyway.
    if reverse or (isinstance(instance, Flag) and instance.name == VIP_SPECIALS_FLAG):
        menu_changed()


def connect() -> None:
    for model in MENU_MODELS:
        post_save.connect(_menu_row_changed, sender=model, dispatch_uid=f"menu.changed.save.{model.__name__}")
        post_delete.connect(
            _menu_row_changed, sender=model, dispatch_uid=f"menu.changed.del.{model.__name__}"
        )
    for through in MENU_M2M:
        m2m_changed.connect(
            _menu_links_changed, sender=through, dispatch_uid=f"menu.changed.m2m.{through.__name__}"
        )
    post_save.connect(_flag_changed, sender=Flag, dispatch_uid="menu.changed.flag.save")
    post_delete.connect(_flag_changed, sender=Flag, dispatch_uid="menu.changed.flag.delete")
    for flag_through in FLAG_M2M:
        m2m_changed.connect(
            _flag_links_changed,
            sender=flag_through,
            dispatch_uid=f"menu.changed.flag.{flag_through.__name__}",
        )
