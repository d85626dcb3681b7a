"""Board broadcasts: every board socket is in one group and filters by station itself.

One group and one sequence for the whole kitchen keep `seq` contiguous for
every view (a station's board, expo); a kitchen's ticket volume is small
enough that sending each board every ticket costs nothing worth saving.
"""

from __future__ import annotations

import logging

from orders.models import OutboxEvent
from restaurant.broadcast import group_send

logger = logging.getLogger(__name__)

BOARD_GROUP = "kitchen.board"


def broadcast_board_event(event: OutboxEvent) -> None:
    """Sends changed tickets to every board."""
    _send(event, {"type": "board.tickets", "seq": event.payload["seq"], "tickets": event.payload["tickets"]})


def broadcast_board_sold_out(event: OutboxEvent) -> None:
    """Sends the changed 86 list to every board."""
    _send(
        event, {"type": "board.sold_out", "seq": event.payload["seq"], "sold_out": event.payload["sold_out"]}
    )


def _send(event: OutboxEvent, message: dict[str, object]) -> None:
    # A failure is logged: boards heal by their heartbeat resync.
    try:
        group_send(BOARD_GROUP, {"type": "live.event", "message": message})
    except Exception:  # noqa: BLE001 - the change is committed; boards resync when they next check in
        logger.warning("board broadcast failed", extra={"event_id": event.pk, "seq": message["seq"]})
