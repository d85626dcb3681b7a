"""What every live socket has in common: authorize, join groups, send the state, forward events.

The protocol (the same for a board and an order page):
  server -> client  a snapshot on connect, then events; every message has `seq`
  client -> server  {"type": "resync"}            answered with a snapshot
                    {"type": "ping", "seq": N}    answered with a snapshot if N is
                                                  not the current seq, else a pong
A client that sees a gap in `seq` asks for a resync. The ping (every few
seconds) also re-joins the groups: a Redis restart forgets group membership,
and a lost broadcast is otherwise only noticed at the next event, so the ping
heals both within one interval. Anything else a client sends is answered with
an error message and changes nothing.

A ping is answered with the state only when the socket cannot account for
the difference. Behind what the socket has sent it, the client has the rest
on its way (a socket delivers in order or breaks, and a broken one is
opened again with a snapshot): a pong. When the database is ahead of what
the socket has sent, the events are usually on their way through the
channel layer, a few milliseconds behind the commit; the socket waits
SOCKET_CATCH_UP_SECONDS for them and sends the state only if they did not
come. In a rush, with a payment a few milliseconds old at every moment,
answering every such ping with a board's state (the kitchen's every ticket)
cost the boards most of their latency (docs/BENCHMARKS.md).

An anonymous socket's ping asks only "which seq is current?", and the
process answers those in rounds (`SeqRounds`): every such ping of the same
kind that arrives within PING_ROUND_SECONDS shares one query. A thousand
guests' order pages ping a hundred times a second in a rush, and one thread
hop and query each held up the event loop that delivers the kitchen's
frames (docs/BENCHMARKS.md).

The right to a socket is not settled at connect. Every resync and ping asks
again, as the session and the database say now, and a socket that lost it is
closed with 4403. A signed-in socket also joins its user's group
(`user_group`): signing out, deactivation, a role or password change send
that group `access.changed` (accounts/socket_access.py), and every socket of
that user asks again at once instead of at its next ping. A client that
never pings is asked again by the socket itself a little before
SOCKET_RECHECK_SECONDS have passed (each socket at its own moment, so a
thousand sockets opened together do not all ask in the same second), and a
socket whose check is overdue anyway asks before it is sent the next event:
a lost `access.changed` does not keep it receiving, and a live frame does
not wait for a database trip that a timer could make beforehand. Only a
socket opened as someone (a session, an app's ticket) is asked so: an
anonymous socket's right rests on what its URL holds (a guest order's
tracking token), which nothing that happens later takes away, and asking a
thousand guests' pages again every half minute cost the kitchen's boards a
quarter of their tail latency (docs/BENCHMARKS.md).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import random
import threading
import time
import weakref
from collections.abc import Awaitable, Callable, Hashable, Mapping
from concurrent.futures import ThreadPoolExecutor
from importlib import import_module
from typing import TYPE_CHECKING, Any, ClassVar, Literal, TypedDict, TypeVar
from urllib.parse import parse_qs

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings
from django.contrib.auth import (
    BACKEND_SESSION_KEY,
    HASH_SESSION_KEY,
    SESSION_KEY,
    get_user_model,
    load_backend,
)
from django.contrib.auth.models import AnonymousUser
from django.db import connections
from django.utils.crypto import constant_time_compare

from accounts.session_policy import session_ended_because

if TYPE_CHECKING:
    from accounts.models import User

logger = logging.getLogger("brigade.sockets")

T = TypeVar("T")


class PongMessage(TypedDict):
    type: Literal["pong"]
    seq: int


class ErrorMessage(TypedDict):
    type: Literal["error"]
    code: str
    message: str


# The socket's own replies (each context declares its snapshots and events): type -> schema.
MESSAGES: dict[str, type] = {"pong": PongMessage, "error": ErrorMessage}

# Closed with this when the visitor may not follow this channel (as HTTP 403).
CLOSE_FORBIDDEN = 4403
# Client messages larger than this are refused unread: the protocol's are tiny.
MAX_CLIENT_MESSAGE = 1024
# The message a user's group gets when that user's right to sockets may have changed.
ACCESS_CHANGED = "access.changed"
# A socket asks again after this share of SOCKET_RECHECK_SECONDS, drawn per wait:
# early enough that an event rarely finds its check overdue, spread so that
# sockets opened together do not ask together.
RECHECK_EARLY = (0.7, 0.95)


def user_group(user_id: int) -> str:
    """The group every socket signed in as this user joins."""
    return f"user.{user_id}"


def session_digest(session_key: str) -> str:
    """Names a session in a channel-layer message without putting the session key itself in Redis."""
    return hashlib.sha256(session_key.encode()).hexdigest()


def socket_route(scope: dict[str, Any]) -> str:
    """The socket's path with its URL parameters named, never their values.

    Logs are read by more people than may follow an order: its tracking
    token, in the path, is the guest's only credential.
    """
    route = str(scope.get("path", ""))
    for name, value in scope.get("url_route", {}).get("kwargs", {}).items():
        if value:
            route = route.replace(str(value), f"<{name}>")
    return route


def session_user(*, session_key: str | None, user_id: int) -> User | AnonymousUser:
    """This session's user as the session store and the database say now, or anonymous.

    A fresh user object (roles_of caches roles on the object it is given).
    Anonymous when the session is gone (signed out, expired), belongs to
    someone else, or no longer matches the user's password, or when the user
    is inactive or deleted. The same checks as django.contrib.auth.get_user,
    which cannot be called here: it flushes or cycles the session it reads,
    and this session belongs to the browser, whose next request judges it.
    """
    if session_key is None:
        return AnonymousUser()
    session = import_module(settings.SESSION_ENGINE).SessionStore(session_key)
    try:
        owner = get_user_model()._meta.pk.to_python(session[SESSION_KEY])
        backend_path = session[BACKEND_SESSION_KEY]
    except KeyError:
        return AnonymousUser()
    if owner != user_id or backend_path not in settings.AUTHENTICATION_BACKENDS:
        return AnonymousUser()
    # The backends refuse inactive users here, as they do at sign-in.
    user = load_backend(backend_path).get_user(user_id)
    if user is None:
        return AnonymousUser()
    session_hash = session.get(HASH_SESSION_KEY) or ""
    valid = [user.get_session_auth_hash(), *user.get_session_auth_fallback_hash()]
    if not any(constant_time_compare(session_hash, expected) for expected in valid):
        return AnonymousUser()
    # Idle or past its span: the next page would sign it out, so its sockets end now.
    if session_ended_because(session=session, user=user) is not None:
        return AnonymousUser()
    return user


def app_session_user(*, session_id: str, user_id: int) -> User | AnonymousUser:
    """An app socket's user as its app session says now (signed out, disabled, new password: anonymous)."""
    from accounts.selectors import app_session_current

    session = app_session_current(session_id=session_id)
    return session.user if session is not None and session.user_id == user_id else AnonymousUser()


def socket_ticket_of(scope: dict[str, Any]) -> str | None:
    """The `ticket` an app's socket URL carries (accounts.services.socket_ticket_issue), if any."""
    values = parse_qs(scope.get("query_string", b"").decode("latin-1")).get("ticket")
    return values[0] if values else None


def _ticket_redeem(ticket: str) -> Any:
    # Imported here: accounts.services reaches this module back through accounts.socket_access.
    from accounts.services import socket_ticket_redeem

    return socket_ticket_redeem(ticket=ticket)


_socket_threads: ThreadPoolExecutor | None = None
_socket_threads_lock = threading.Lock()


def _executor() -> ThreadPoolExecutor:
    global _socket_threads
    with _socket_threads_lock:
        if _socket_threads is None:
            _socket_threads = ThreadPoolExecutor(
                max_workers=settings.SOCKET_DB_THREADS, thread_name_prefix="socket-db"
            )
        return _socket_threads


def in_thread(function: Callable[..., T]) -> Callable[..., Awaitable[T]]:
    """Runs a socket's database work in the sockets' own threads, with Django's connection handling.

    Not in the process's one "thread-sensitive" thread, where every socket
    would queue behind the others: these are independent reads, and a rush
    (a thousand order pages connecting at once after a deploy, or pinging
    every 10 s) needs them side by side.
    """
    return database_sync_to_async(function, thread_sensitive=False, executor=_executor())


# Anonymous sockets' pings wait this long for the others of their round.
PING_ROUND_SECONDS = 0.1


class SeqRounds:
    """Answers "which seq is current?" for many sockets of one kind with one read per round.

    The first question opens a round; every question asked in the next
    PING_ROUND_SECONDS joins it, and one call of `read` (in the sockets'
    threads) answers them all. A key `read` does not return is answered None.
    One per event loop and kind (`for_loop`): futures belong to a loop.
    """

    _by_loop: ClassVar[weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[Any, SeqRounds]]] = (
        weakref.WeakKeyDictionary()
    )

    def __init__(self, read: Callable[[frozenset[Hashable]], Mapping[Any, int]]) -> None:
        self.read = read
        self.waiting: dict[Hashable, list[asyncio.Future[int | None]]] = {}
        self.round: asyncio.Task[None] | None = None

    async def current(self, key: Hashable) -> int | None:
        answer: asyncio.Future[int | None] = asyncio.get_running_loop().create_future()
        self.waiting.setdefault(key, []).append(answer)
        if self.round is None:
            self.round = asyncio.create_task(self._run())
        return await answer

    async def _run(self) -> None:
        await asyncio.sleep(PING_ROUND_SECONDS)
        waiting, self.waiting, self.round = self.waiting, {}, None
        answers = [answer for answers in waiting.values() for answer in answers]
        try:
            seqs = await in_thread(self.read)(frozenset(waiting))
        except Exception as error:  # noqa: BLE001 - each waiting ping fails as its own query would have
            for answer in answers:
                if not answer.done():
                    answer.set_exception(error)
            return
        for key, waiting_for_key in waiting.items():
            for answer in waiting_for_key:
                # A socket that closed meanwhile cancelled its wait.
                if not answer.done():
                    answer.set_result(seqs.get(key))

    @classmethod
    def for_loop(cls, kind: Any, read: Callable[[frozenset[Hashable]], Mapping[Any, int]]) -> SeqRounds:
        rounds = cls._by_loop.setdefault(asyncio.get_running_loop(), {})
        if kind not in rounds:
            rounds[kind] = cls(read)
        return rounds[kind]


def socket_threads_close() -> None:
    """Closes the sockets' threads and their database connections (a test run's end)."""
    global _socket_threads
    with _socket_threads_lock:
        executor, _socket_threads = _socket_threads, None
    if executor is None:
        return
    # One job per thread, each held until all have run: every thread closes its own connections.
    size = settings.SOCKET_DB_THREADS
    barrier = threading.Barrier(size)

    def close_own() -> None:
        connections.close_all()
        barrier.wait(timeout=10)

    for _ in range(size):
        executor.submit(close_own)
    executor.shutdown(wait=True)


class LiveStateConsumer(AsyncWebsocketConsumer):
    """Subclasses say who may connect, which group they join, and what the state is."""

    group_name: str | None = None
    # Who the socket was opened as: the user and their session, or None for anonymous.
    user_id: int | None = None
    session_key: str | None = None
    # An app's socket, opened with a ticket: the app session it was issued to.
    app_session_id: str | None = None
    # time.monotonic() of the last time the right to this socket was confirmed.
    checked_at: float = 0.0
    # Asks again when the client has not (no ping) for a while; None when the socket is not open.
    recheck: asyncio.Task[None] | None = None
    # The highest seq this socket has sent its client, in a snapshot or an event.
    sent_seq: int | None = None
    # Waits for events a ping found the socket behind on, then sends the state if they did not come.
    catch_up: asyncio.Task[None] | None = None

    # ---- for subclasses (run in a worker thread: they may use the ORM)

    def authorize(self, user: User | AnonymousUser) -> str | None:
        """Returns the group `user` may follow on this socket, or None to refuse it."""
        raise NotImplementedError

    def snapshot(self) -> dict[str, Any]:
        raise NotImplementedError

    def current_seq(self) -> int:
        raise NotImplementedError

    # A kind that lets anonymous sockets in gives each one's key and the read of
    # many keys' seqs at once: their pings are answered in rounds (SeqRounds).
    def seq_key(self) -> Hashable:
        raise NotImplementedError

    @classmethod
    def current_seqs(cls, keys: frozenset[Hashable]) -> Mapping[Any, int]:
        raise NotImplementedError

    # ---- the protocol

    async def dispatch(self, message: dict[str, Any]) -> None:
        # channels closes stale database connections before every handler, a
        # hop through the process's one sync thread. A live event reaches the
        # database only through in_thread, which does that in the thread it
        # uses, so for it the hop bought nothing, and a board frame for the 25
        # boards of a daphne queued 25 hops in a row before reaching them.
        if message["type"] == "live.event":
            await self.live_event(message)
            return
        await super().dispatch(message)

    async def connect(self) -> None:
        user = self.scope["user"]
        ticket = socket_ticket_of(self.scope)
        if ticket is not None:
            # An app: the ticket alone says who this is, never a cookie that came along
            # (the origin of a ticket's socket is not checked: restaurant.asgi).
            app_session = await in_thread(_ticket_redeem)(ticket)
            if app_session is None:
                self._log("socket refused", "ticket refused")
                await self.close(code=CLOSE_FORBIDDEN)
                return
            user, self.app_session_id = app_session.user, str(app_session.pk)
        if user.is_authenticated:
            self.user_id = user.pk
            self.session_key = self.scope["session"].session_key if ticket is None else None
            # Joined before authorizing: a sign-out from now on reaches this socket.
            await self.channel_layer.group_add(user_group(user.pk), self.channel_name)
        group = await in_thread(self.authorize)(user)
        if group is None:
            await self._discard_user_group()
            self._log("socket refused", "forbidden")
            await self.close(code=CLOSE_FORBIDDEN)
            return
        self.group_name = group
        self.checked_at = time.monotonic()
        # Join before reading the state: an event committed in between is then
        # both in the snapshot and delivered, never in neither.
        await self.channel_layer.group_add(group, self.channel_name)
        await self.accept()
        await self._send_snapshot()
        if self._right_may_end_silently() and settings.SOCKET_RECHECK_SECONDS > 0:
            self.recheck = asyncio.create_task(self._recheck_when_due())

    async def disconnect(self, code: int) -> None:
        for task in (self.recheck, self.catch_up):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        self.recheck = self.catch_up = None
        await self._leave()

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        if self.group_name is None:
            return
        message = self._parse(text_data) or {}
        kind = message.get("type")
        if kind == "resync":
            if await self._still_allowed():
                await self._send_snapshot()
        elif kind == "ping":
            await self.channel_layer.group_add(self.group_name, self.channel_name)
            if self.user_id is not None:
                await self.channel_layer.group_add(user_group(self.user_id), self.channel_name)
                # One trip to the database for both questions (still allowed? which seq?).
                seq = await in_thread(self._reauthorized_seq)()
            else:
                # Anonymous: its right never ends, so only the seq is asked.
                seq = await self._current_seq_in_round()
            if seq is None:
                await self._end("access ended")
                return
            if self.user_id is not None:
                self.checked_at = time.monotonic()
            await self._answer_ping(client_seq=message.get("seq"), current=seq)
        else:
            await self.send_json(
                {"type": "error", "code": "bad_message", "message": "Send resync or ping messages only."}
            )

    async def _answer_ping(self, *, client_seq: object, current: int) -> None:
        sent = self.sent_seq
        if client_seq == current:
            await self.send_json({"type": "pong", "seq": current})
        elif isinstance(client_seq, int) and sent is not None and client_seq <= sent:
            # The client lacks only what the socket has sent it already; what the
            # socket itself lacks is most likely on its way to it.
            await self.send_json({"type": "pong", "seq": current})
            if sent < current and (self.catch_up is None or self.catch_up.done()):
                self.catch_up = asyncio.create_task(self._catch_up_to(current))
        else:
            await self._send_snapshot()

    async def _catch_up_to(self, seq: int) -> None:
        await asyncio.sleep(settings.SOCKET_CATCH_UP_SECONDS)
        if self.group_name is not None and (self.sent_seq is None or self.sent_seq < seq):
            try:
                await self._send_snapshot()
            except Exception:  # noqa: BLE001 - a task of its own: the next ping asks again
                logger.warning("socket catch-up failed", extra={"route": socket_route(self.scope)})

    async def live_event(self, event: dict[str, Any]) -> None:
        # A broadcast already on its way when the socket lost its right is dropped.
        if self.group_name is None:
            return
        if (
            self._right_may_end_silently()
            and time.monotonic() - self.checked_at > settings.SOCKET_RECHECK_SECONDS
            and not await self._still_allowed()
        ):
            return
        await self._send_state(event["message"])

    async def access_changed(self, event: dict[str, Any]) -> None:
        if self.group_name is None:
            return
        ended = event.get("session_ended")
        # Signing out announces its session before deleting it: that one is over whatever the store says yet.
        signed_out = bool(
            ended and self.session_key and constant_time_compare(ended, session_digest(self.session_key))
        )
        await self._still_allowed(signed_out=signed_out)

    # ---- helpers

    def _right_may_end_silently(self) -> bool:
        # A session expires and a lost access.changed says nothing; a tracking token never ends.
        return self.user_id is not None

    async def _recheck_when_due(self) -> None:
        interval = settings.SOCKET_RECHECK_SECONDS
        while self.group_name is not None:
            due = self.checked_at + interval * random.uniform(*RECHECK_EARLY)  # noqa: S311 - spread, not secret
            await asyncio.sleep(max(due - time.monotonic(), 0.0))
            # A ping may have checked meanwhile; otherwise ask now.
            if self.group_name is not None and time.monotonic() >= due:
                try:
                    await self._still_allowed()
                except Exception:  # noqa: BLE001 - the check before the next event still guards it
                    logger.warning("socket recheck failed", extra={"route": socket_route(self.scope)})
                    await asyncio.sleep(interval * RECHECK_EARLY[0])

    async def _still_allowed(self, *, signed_out: bool = False) -> bool:
        """Asks again whether this socket may follow its group; closes it with 4403 if not."""
        if await in_thread(self._reauthorize)(signed_out):
            self.checked_at = time.monotonic()
            return True
        await self._end("access ended")
        return False

    async def _end(self, reason: str) -> None:
        await self._leave()
        self._log("socket closed", reason)
        await self.close(code=CLOSE_FORBIDDEN)

    async def _current_seq_in_round(self) -> int | None:
        kind = type(self)
        return await SeqRounds.for_loop(kind, kind.current_seqs).current(self.seq_key())

    def _reauthorized_seq(self) -> int | None:
        """The current seq if the socket may still follow its group, else None."""
        return self.current_seq() if self._reauthorize(signed_out=False) else None

    def _reauthorize(self, signed_out: bool) -> bool:
        if self.user_id is None or signed_out:
            # Opened anonymously (a guest's tracking link), or the session ended: what
            # an anonymous visitor may follow, which for a guest order is still its page.
            user: User | AnonymousUser = AnonymousUser()
        elif self.app_session_id is not None:
            user = app_session_user(session_id=self.app_session_id, user_id=self.user_id)
        else:
            user = session_user(session_key=self.session_key, user_id=self.user_id)
        return self.authorize(user) == self.group_name

    async def _leave(self) -> None:
        if self.group_name is not None:
            group, self.group_name = self.group_name, None
            await self.channel_layer.group_discard(group, self.channel_name)
        await self._discard_user_group()

    async def _discard_user_group(self) -> None:
        if self.user_id is not None:
            await self.channel_layer.group_discard(user_group(self.user_id), self.channel_name)

    def _log(self, message: str, reason: str) -> None:
        logger.warning(
            message, extra={"route": socket_route(self.scope), "user_id": self.user_id, "reason": reason}
        )

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
        await self._send_state(await in_thread(self.snapshot)())

    async def _send_state(self, message: dict[str, Any]) -> None:
        # A snapshot or an event: what the client now has, or will have, up to its seq.
        seq = message.get("seq")
        if isinstance(seq, int) and (self.sent_seq is None or seq > self.sent_seq):
            self.sent_seq = seq
        await self.send_json(message)

    async def send_json(self, content: dict[str, Any]) -> None:
        await self.send(text_data=json.dumps(content, separators=(",", ":")))
