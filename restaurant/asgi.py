"""ASGI entry point: daphne serves HTTP and websockets.

Websocket routes are collected from each app's `routing.websocket_urlpatterns`;
browsers' sockets are authenticated from the session and must come from an
allowed host; apps' carry a one-time ticket from the API instead.
"""

import os
from typing import Any

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "restaurant.settings")

# Django must be set up before anything imports models.
django_asgi_app = get_asgi_application()

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402

from restaurant.routing import websocket_urlpatterns  # noqa: E402
from restaurant.sockets import socket_ticket_of  # noqa: E402

sockets = AuthMiddlewareStack(URLRouter(websocket_urlpatterns))
browsers_sockets = AllowedHostsOriginValidator(sockets)


async def websockets(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """Browsers' sockets must come from our origin (their cookie could be anyone's page's);
    an app's carries a ticket, which only the app holding a token could get, and is the
    socket's only credential (restaurant.sockets), so its origin, often none, is not asked."""
    app = sockets if socket_ticket_of(scope) is not None else browsers_sockets
    await app(scope, receive, send)


application = ProtocolTypeRouter({"http": django_asgi_app, "websocket": websockets})
