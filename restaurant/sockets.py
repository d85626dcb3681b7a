"""What every live socket has in common: authorize, join one group, send the state, forward events.

The protocol (the same for a board and an order page):
  server -> client  a snapshot on connect, then events; every message has `seq`
  client -> server  {"type": "resync"}            answered with a snapshot
                    {"type": "ping", "seq": N}    answered with a snapshot if N is
                                                  not the current seq, else a pong
A client that sees a gap in `seq` asks for a resync. The ping (every few
seconds) also re-joins the group: a Redis restart forgets group membership,
and a lost broadcast is otherwise only noticed at the next event, so the ping
heals both within one interval. Anything else a client sends is answered with
an error message and changes nothing.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer

logger = logging.getLogger("brigade.sockets")

# Closed with this when the visitor may not follow this channel (as HTTP 403).
CLOSE_FORBIDDEN = 4403
# Client messages larger than this are refused unread: the protocol's are tiny.
MAX_CLIENT_MESSAGE = 1024


class LiveStateConsumer(AsyncWebsocketConsumer):
    """Subclasses say who may connect, which group they join, and what the state is."""

    group_name: str | None = None

    # ---- for subclasses (run in a worker thread: they may use the ORM)

    def authorize(self) -> str | None:
        """Returns the group to join, or None to refuse the socket."""
        raise NotImplementedError

    def snapshot(self) -> dict[str, Any]:
        raise NotImplementedError

    def current_seq(self) -> int:
        raise NotImplementedError

    # ---- the protocol

    async def connect(self) -> None:
        group = await database_sync_to_async(self.authorize)()
        if group is None:
            user = self.scope.get("user")
            logger.warning(
                "socket refused",
                extra={
                    "path": self.scope.get("path"),
                    "user_id": getattr(user, "pk", None),
                    "reason": "forbidden",
                },
            )
            await self.close(code=CLOSE_FORBIDDEN)
            return
        self.group_name = group
        # Join before reading the state: an event committed in between is then
        # both in the snapshot and delivered, never in neither.
        await self.channel_layer.group_add(group, self.channel_name)
        await self.accept()
        await self._send_snapshot()

    async def disconnect(self, code: int) -> None:
        if self.group_name is not None:
            await self.channel_layer.group_discard(self.group_name, self.channel_name)

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        if self.group_name is None:
            return
        message = self._parse(text_data)
        kind = message.get("type") if message else None
        if kind == "resync":
            await self._send_snapshot()
        elif kind == "ping":
            await self.channel_layer.group_add(self.group_name, self.channel_name)
            seq = await database_sync_to_async(self.current_seq)()
            if message.get("seq") != seq:
                await self._send_snapshot()
            else:
                await self.send_json({"type": "pong", "seq": seq})
        else:
            await self.send_json(
                {"type": "error", "code": "bad_message", "message": "Send resync or ping messages only."}
            )

    async def live_event(self, event: dict[str, Any]) -> None:
        await self.send_json(event["message"])

    # ---- helpers

    @staticmethod
    def _parse(text_data: str | None) -> dict[str, Any] | None:
        if text_data is None or len(text_data) > MAX_CLIENT_MESSAGE:
            return None
        try:
            message = json.loads(text_data)
        except ValueError:
            return None
        return message if isinstance(message, dict) else None

    async def _send_snapshot(self) -> None:
        await self.send_json(await database_sync_to_async(self.snapshot)())

    async def send_json(self, content: dict[str, Any]) -> None:
        await self.send(text_data=json.dumps(content, separators=(",", ":")))
