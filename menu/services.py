"""Writes to the menu that are more than plain admin edits."""

from __future__ import annotations

import logging

from django.db import transaction

from menu.cache import menu_changed
from menu.models import MenuItem

logger = logging.getLogger(__name__)


def menu_items_set_availability(*, item_ids: list[int], available: bool) -> int:
    """86s items (available=False) or puts them back on; returns how many changed."""
    with transaction.atomic():
        changed = (
            MenuItem.objects.filter(pk__in=item_ids)
            .exclude(is_available=available)
            .update(is_available=available)
        )
        if changed:
            menu_changed()  # update() sends no signal (menu.signals)
    logger.info(
        "menu availability changed", extra={"items": item_ids, "available": available, "changed": changed}
    )
    return changed
