"""Every write to the floor's tables beyond admin's own form: retire, bring back, replace a code;
and the live floor's announcements, numbered by its FloorClock."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from django.db import IntegrityError, transaction
from django.db.models import F, prefetch_related_objects

from orders.floor.models import LABEL_TAKEN, FloorClock, Table
from orders.floor.selectors import floor_order_state
from orders.models import Order
from orders.outbox.models import OutboxEvent
from orders.outbox.sequences import clock_next
from orders.outbox.services import outbox_record
from restaurant.errors import Conflict


def table_retire(*, table_ids: Sequence[int], now: datetime) -> int:
    """Takes tables out of service: their QR links stop working, no new order may name them.

    Their orders keep pointing at them. A conditional UPDATE, so a table
    already retired keeps the moment it was first retired; returns how many
    were retired now.
    """
    with transaction.atomic():
        return Table.objects.filter(pk__in=list(table_ids), retired_at__isnull=True).update(
            retired_at=now, updated_at=now
        )


def table_reinstate(*, table_id: int, now: datetime) -> Table:
    """Puts a retired table back in service, with its old QR code, unless its label is taken meanwhile.

    The label's uniqueness among tables in service is the database's
    (a partial unique index), so of two reinstatements of one label exactly
    one wins; the other is a Conflict naming the label.
    """
    table = Table.objects.get(pk=table_id)
    try:
        with transaction.atomic():
            Table.objects.filter(pk=table_id, retired_at__isnull=False).update(
                retired_at=None, updated_at=now
            )
    except IntegrityError as error:
        raise Conflict(f"{table}: {LABEL_TAKEN}", code="table_label_taken") from error
    table.refresh_from_db()
    return table


def table_link_replace(*, table_ids: Sequence[int], now: datetime) -> int:
    """Gives tables in service a new QR code; the codes printed before lead nowhere from now on."""
    with transaction.atomic():
        return Table.objects.filter(pk__in=list(table_ids), retired_at__isnull=True).update(
            link_version=F("link_version") + 1, updated_at=now
        )


FLOOR_TOPIC = "floor.orders"


def floor_order_announce(*, order: Order) -> OutboxEvent:
    """Tells floor pages how an order stands now, numbered in the transaction that changed it.

    Called by orders.floor.events for every event of an order (placed, paid,
    cooking, ready, handed over, cancelled, refunded). The number is taken
    last, so the floor's row lock is held only until the commit; every
    writer takes the pantry's rows before it and the kitchen's BoardClock
    after it (orders.services.order_transition), so none waits in a circle.
    """
    with transaction.atomic(savepoint=False):
        # The copy in hand is current (order_transition keeps it so; published
        # later, the event reads its order anew): only its lines are fetched.
        prefetch_related_objects([order], "items", "placed_by")
        payload = {"seq": clock_next(FloorClock), "orders": [floor_order_state(order)]}
        return outbox_record(order=order, topic=FLOOR_TOPIC, payload=payload)
