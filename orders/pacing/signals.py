"""Every save or delete of the pacing rules or opening hours bumps the pacing version after commit.

Receivers rather than calls in each writer, because admin saves the row and
its inline opening hours directly; a writer that sends no signal
(bulk_create, a queryset update()) calls orders.pacing.cache.pacing_changed()
itself. Fixtures loaded into a running restaurant change it too, so raw
saves bump as well.
"""

from __future__ import annotations

from typing import Any

from django.db.models.signals import post_delete, post_save

from orders.pacing.cache import pacing_changed
from orders.pacing.models import KitchenPacing, OpeningHours


def _pacing_row_changed(sender: Any, **kwargs: Any) -> None:
    pacing_changed()


def connect() -> None:
    for model in (KitchenPacing, OpeningHours):
        name = model.__name__
        post_save.connect(
            _pacing_row_changed, sender=model, dispatch_uid=f"orders.pacing.changed.save.{name}"
        )
        post_delete.connect(
            _pacing_row_changed, sender=model, dispatch_uid=f"orders.pacing.changed.del.{name}"
        )
