"""The order tracking socket: /ws/orders/<tracking token>/. Thin: authorize, join, forward."""

from __future__ import annotations

import logging
from typing import Any

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from orders.live import order_group, order_snapshot
from orders.models import Order
from orders.selectors import order_for_viewer

logger = logging.getLogger(__name__)

# Closed with this when the visitor may not follow the order (as HTTP 403).
CLOSE_FORBIDDEN = 4403


class OrderTrackerConsumer(AsyncJsonWebsocketConsumer):
    order_id: int | None = None

    async def connect(self) -> None:
        token = self.scope["url_route"]["kwargs"]["token"]
        order = await database_sync_to_async(order_for_viewer)(tracking_token=token, user=self.scope["user"])
        if order is None:
            # Same answer for a wrong token and someone else's order: nothing leaks.
            logger.warning("order socket refused", extra={"reason": "not_viewer"})
            await self.close(code=CLOSE_FORBIDDEN)
            return
        self.order_id = order.pk
        await self.channel_layer.group_add(order_group(order.pk), self.channel_name)
        await self.accept()
        await self.send_json(order_snapshot(order))

    async def disconnect(self, code: int) -> None:
        if self.order_id is not None:
            await self.channel_layer.group_discard(order_group(self.order_id), self.channel_name)

    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        # The one thing a client asks for: the state again, after a gap.
        if isinstance(content, dict) and content.get("type") == "resync" and self.order_id is not None:
            order = await database_sync_to_async(Order.objects.get)(pk=self.order_id)
            await self.send_json(order_snapshot(order))

    async def order_event(self, event: dict[str, Any]) -> None:
        await self.send_json(event["message"])
