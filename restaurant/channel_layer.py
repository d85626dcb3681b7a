"""The pub/sub channel layer, healing after a Redis restart.

channels-redis's pub/sub layer keeps one Redis subscription per process and
remembers which groups it subscribed to. When Redis restarts while the
process is reading, redis-py reconnects that subscription, but measured here
(redis-py 8, channels-redis 4.3) a restart quicker than its next read can
leave it connected and deaf for good: every group message published after
that is lost, and re-joining a group does nothing, since the layer believes
it is subscribed already. Here a subscription that failed is thrown away and
made again from the groups the process follows, with a fresh connection,
until Redis answers; and a publish that meets a connection Redis closed is
sent once more on a new one.

    CHANNEL_LAYERS["default"]["BACKEND"] = "restaurant.channel_layer.HealingPubSubChannelLayer"
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

import redis.exceptions
from channels_redis import pubsub
from channels_redis.utils import _close_redis, _wrap_close, decode_hosts

logger = logging.getLogger("brigade.channel_layer")

RESUBSCRIBE_EVERY_SECONDS = 0.5


class _HealingShard(pubsub.RedisSingleShardConnection):
    # Set when the subscription failed, until it is made again.
    _lost = False
    # channels-redis's own, untyped there.
    _redis: Any
    _pubsub: Any
    _subscribed_to: set[str]

    async def publish(self, channel: str, message: bytes) -> None:
        try:
            await super().publish(channel, message)
        except (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError):
            # The pooled connection was cut by a restart; the retry takes a new one.
            await super().publish(channel, message)

    async def subscribe(self, channel: str) -> None:
        # A socket re-joining its group (pages do on every ping) makes a lost
        # subscription again at once, rather than waiting for the receive loop.
        if self._lost and channel in self._subscribed_to:
            await self._resubscribe()
            return
        await super().subscribe(channel)

    async def _do_receiving(self) -> None:
        while True:
            try:
                if self._pubsub is not None and self._pubsub.subscribed and not self._lost:
                    message = await self._pubsub.get_message(ignore_subscribe_messages=True, timeout=0.1)
                    self._receive_message(message)
                elif self._subscribed_to:
                    await self._resubscribe()
                    if self._lost:
                        await asyncio.sleep(RESUBSCRIBE_EVERY_SECONDS)  # Redis is still away
                else:
                    await asyncio.sleep(0.1)
            except (TimeoutError, asyncio.CancelledError, GeneratorExit):
                raise
            except Exception:  # noqa: BLE001 - whatever broke the subscription, it is made again
                logger.warning("channel layer lost its Redis subscription; subscribing again")
                self._lost = True

    async def _resubscribe(self) -> None:
        async with self._lock:
            if not self._lost:
                return  # made again meanwhile, by the receive loop or a re-joining socket
            stale, self._redis, self._pubsub = self._redis, None, None
            if stale is not None:
                with contextlib.suppress(Exception):
                    await _close_redis(stale)
            self._ensure_redis()
            assert self._pubsub is not None
            try:
                if self._subscribed_to:
                    await self._pubsub.subscribe(*self._subscribed_to)
            except (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError, OSError):
                return  # Redis is still away: the receive loop tries again
            self._lost = False
        logger.warning("channel layer subscribed again", extra={"channels": len(self._subscribed_to)})


class _HealingLoopLayer(pubsub.RedisPubSubLoopLayer):
    def __init__(self, *args: Any, hosts: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, hosts=hosts, **kwargs)
        self._shards = [_HealingShard(host, self) for host in decode_hosts(hosts)]


class HealingPubSubChannelLayer(pubsub.RedisPubSubChannelLayer):
    def _get_layer(self) -> pubsub.RedisPubSubLoopLayer:
        loop = asyncio.get_running_loop()
        try:
            return self._layers[loop]
        except KeyError:
            layer = _HealingLoopLayer(*self._args, **self._kwargs, channel_layer=self)
            self._layers[loop] = layer
            _wrap_close(self, loop)
            return layer
