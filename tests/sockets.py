"""Opening the product's websockets in-process, as a given user, with channels' WebsocketCommunicator."""

from __future__ import annotations

from typing import Any

from asgiref.sync import async_to_sync
from channels.testing import WebsocketCommunicator
from django.test import Client

from restaurant.asgi import application


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
    return WebsocketCommunicator(application, path, headers=headers)


def connects(communicator: WebsocketCommunicator) -> tuple[bool, object]:
    """Connects and hangs up: (True, the first message) or (False, the close code)."""

    async def run() -> tuple[bool, object]:
        connected, code = await communicator.connect()
        first = await communicator.receive_json_from() if connected else None
        await communicator.disconnect()
        return connected, (first if connected else code)

    return async_to_sync(run)()
