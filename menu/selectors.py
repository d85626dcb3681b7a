"""Reads of the menu for customers."""

from __future__ import annotations

from menu.cache import MenuSnapshot, menu_snapshot


def menu_current() -> MenuSnapshot:
    """The menu as customers see it now: one snapshot for everyone, cached by menu version.

    Each request takes its audience's view of it (`categories_for`,
    `item_for`); menu.cache says how it is kept fresh.
    """
    return menu_snapshot()
