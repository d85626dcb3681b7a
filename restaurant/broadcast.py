"""Group sends from synchronous code (Celery tasks, WSGI views) over one long-lived event loop per process.

async_to_sync runs each call on a new event loop, and channels-redis keeps its
connections per loop: every broadcast from a worker would open a Redis
connection and drop it again, which is most of a live frame's cost on a busy
machine. Here one daemon thread per process runs a loop for the whole process
life, so the layer's connections stay warm. The in-memory layer (one process,
embedded mode) is bound to the loop of the server it lives in, so it keeps
using async_to_sync, which finds that loop.
"""

from __future__ import annotations

import asyncio
import os
import threading
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import InMemoryChannelLayer, get_channel_layer

SEND_TIMEOUT_SECONDS = 5.0

_lock = threading.Lock()
_loop: asyncio.AbstractEventLoop | None = None
_loop_pid: int | None = None


def _sender_loop() -> asyncio.AbstractEventLoop:
    global _loop, _loop_pid
    with _lock:
        # A forked worker child inherits the variable but not the thread: start its own.
        if _loop is None or _loop_pid != os.getpid():
            loop = asyncio.new_event_loop()
            threading.Thread(target=loop.run_forever, name="channel-layer-sender", daemon=True).start()
            _loop, _loop_pid = loop, os.getpid()
        return _loop


def group_send(group: str, message: dict[str, Any]) -> None:
    """Sends to a group and waits until the layer has taken the message (raises if it cannot)."""
    layer = get_channel_layer()
    if isinstance(layer, InMemoryChannelLayer):
        async_to_sync(layer.group_send)(group, message)
        return
    future = asyncio.run_coroutine_threadsafe(layer.group_send(group, message), _sender_loop())
    future.result(timeout=SEND_TIMEOUT_SECONDS)
