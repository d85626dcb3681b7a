"""Opening the product's websockets in-process, as a given user, with channels' WebsocketCommunicator.

Every message a test receives is checked against its schema (orders/events.py,
orders/floor/events.py, kitchen/events.py, restaurant/sockets.py): a socket test that gets a message
with no schema, or one that does not fit it, fails.
"""

from __future__ import annotations

from typing import Any

from asgiref.sync import async_to_sync
from channels.testing import WebsocketCommunicator
from django.test import Client, override_settings

from kitchen.events import MESSAGES as KITCHEN_MESSAGES
from orders.events import MESSAGES as ORDER_MESSAGES
from orders.floor.events import MESSAGES as FLOOR_MESSAGES
from restaurant.asgi import application
from restaurant.schemas import schema_errors
from restaurant.sockets import MESSAGES as SOCKET_MESSAGES
from tests.harness.processes import free_port

LIVE_MESSAGES: dict[str, type] = {**SOCKET_MESSAGES, **ORDER_MESSAGES, **FLOOR_MESSAGES, **KITCHEN_MESSAGES}


def live_message_errors(message: Any) -> list[str]:
    """What is wrong with a message a socket sent: no schema for its type, or not fitting it."""
    schema = LIVE_MESSAGES.get(message.get("type")) if isinstance(message, dict) else None
    if schema is None:
        return [f"no schema for {message!r}"]
    return schema_errors(message, schema)


class CheckedCommunicator(WebsocketCommunicator):
    """A test's socket that checks every message it receives against that message's schema."""

    async def receive_json_from(self, timeout: float = 1) -> Any:
        message = await super().receive_json_from(timeout)
        assert live_message_errors(message) == [], message
        return message


def unreachable_channel_layer() -> override_settings:
    """The process that serves the request cannot reach Redis (the sockets keep their own layer).

    What a broadcast lost in an outage looks like to the sockets: the change
    commits, and its frame never reaches them.
    """
    nowhere = f"redis://127.0.0.1:{free_port()}/0"
    return override_settings(
        CHANNEL_LAYERS={
            "default": {
                "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
                "CONFIG": {"hosts": [nowhere]},
            }
        }
    )


def socket_for(
    path: str, *, user: Any = None, browser: Client | None = None, origin: str = "http://testserver"
) -> WebsocketCommunicator:
    """A socket to `path` from `origin`, signed in as `user` (None: anonymous) by a real session cookie.

    `browser` instead: the socket carries that client's session cookie, as a page's socket
    carries the browser's, so what the client does over HTTP (sign out) applies to it too.
    """
    headers = [(b"origin", origin.encode()), (b"host", b"testserver")]
    if user is not None:
        browser = Client()
        browser.force_login(user, backend="django.contrib.auth.backends.ModelBackend")
    if browser is not None:
        headers.append((b"cookie", f"sessionid={browser.cookies['sessionid'].value}".encode()))
    return CheckedCommunicator(application, path, headers=headers)


async def connected_snapshot(socket: WebsocketCommunicator) -> Any:
    """Opens the socket (it must be let in) and returns the snapshot it is sent first."""
    connected, _ = await socket.connect()
    assert connected
    return await socket.receive_json_from()


def connects(communicator: WebsocketCommunicator) -> tuple[bool, object]:
    """Connects and hangs up: (True, the first message) or (False, the close code)."""

    async def run() -> tuple[bool, object]:
        connected, code = await communicator.connect()
        first = await communicator.receive_json_from() if connected else None
        await communicator.disconnect()
        return connected, (first if connected else code)

    return async_to_sync(run)()


def app_socket_for(
    path: str, ticket: str, *, headers: list[tuple[bytes, bytes]] | None = None
) -> WebsocketCommunicator:
    """A socket as a mobile app opens one: the API's one-time ticket in the URL, no cookie, no Origin."""
    return CheckedCommunicator(
        application, f"{path}?ticket={ticket}", headers=[(b"host", b"testserver"), *(headers or [])]
    )
