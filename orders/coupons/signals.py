"""A coupon saved or deleted bumps the menu version after commit: the site banner may show it.

The banner is on every menu page, and those pages (and their ETags) are
kept per menu version (menu.pages); admin saves coupons directly, so a
receiver rather than a call in each writer, as menu.signals does.
"""

from __future__ import annotations

from typing import Any

from django.db.models.signals import post_delete, post_save

from menu.cache import menu_changed
from orders.coupons.models import Coupon


def _coupon_changed(sender: Any, raw: bool = False, **kwargs: Any) -> None:
    if not raw:
        menu_changed()


def connect() -> None:
    post_save.connect(_coupon_changed, sender=Coupon, dispatch_uid="orders.coupons.changed.save")
    post_delete.connect(_coupon_changed, sender=Coupon, dispatch_uid="orders.coupons.changed.delete")
