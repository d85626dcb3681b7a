"""The floor for bench/live_fanout.py: daphne and the channel layer with no application.

Each socket joins the group named in its path and is sent every group message
as it arrives; a ping is answered with a pong. Nothing is read from the
database, checked or built: what the app's live frames cost above this is the
app's own.

    daphne bench.floor_asgi:application    (with restaurant.settings, for CHANNEL_LAYERS)
"""

from __future__ import annotations

import json
from typing import Any

import django

django.setup()

from channels.generic.websocket import AsyncWebsocketConsumer  # noqa: E402 - after setup
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from django.core.asgi import get_asgi_application  # noqa: E402
from django.urls import path  # noqa: E402


class FloorConsumer(AsyncWebsocketConsumer):
    async def connect(self) -> None:
        self.group = self.scope["url_route"]["kwargs"]["group"]
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.accept()
        await self.send(text_data=json.dumps({"type": "snapshot", "seq": 0}))

    async def disconnect(self, code: int) -> None:
        await self.channel_layer.group_discard(self.group, self.channel_name)

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.send(text_data=json.dumps({"type": "pong"}))

    async def live_event(self, event: dict[str, Any]) -> None:
        await self.send(text_data=json.dumps(event["message"], separators=(",", ":")))


application = ProtocolTypeRouter(
    {
        # /healthz answers like the app's, so the bench waits for both the same way.
        "http": get_asgi_application(),
        "websocket": URLRouter([path("ws/floor/<str:group>/", FloorConsumer.as_asgi())]),
    }
)
