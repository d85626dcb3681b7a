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
    """Sends changed tickets to every board. A failure is logged: boards heal by their heartbeat resync."""
    message = {"type": "board.tickets", "seq": event.payload["seq"], "tickets": event.payload["tickets"]}
    try:
        group_send(BOARD_GROUP, {"type": "live.event", "message": message})
    except Exception:  # noqa: BLE001 - the tickets are committed; boards resync when they next check in
        logger.warning("board broadcast failed", extra={"event_id": event.pk, "seq": message["seq"]})
