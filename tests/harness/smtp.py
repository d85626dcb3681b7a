"""A real SMTP receiver on 127.0.0.1 (aiosmtpd, in a thread of the test process).

It stands in for the mail relay, the one third party we cannot reach from
here; workers started by tests/harness/worker.py send their emails to it.
"""

from __future__ import annotations

import asyncio
import email
import email.message
import email.policy
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from tests.harness.processes import Processes, free_port

HOLD_TIMEOUT = 30.0


@dataclass(frozen=True)
class ReceivedMail:
    mail_from: str
    rcpt_tos: tuple[str, ...]
    message: email.message.EmailMessage


class _Handler:
    def __init__(self, sink: SmtpSink) -> None:
        self.sink = sink

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        sink = self.sink
        if sink._take_hold():
            sink.held.set()
            loop = asyncio.get_running_loop()
            deadline = loop.time() + HOLD_TIMEOUT
            try:
                # Polls the threading.Event rather than blocking on it, so the
                # receiver's event loop keeps serving other connections and a
                # client that dies cancels this handler (aiosmtpd's connection_lost).
                while not sink.release.is_set() and loop.time() < deadline:
                    await asyncio.sleep(0.02)
            except asyncio.CancelledError:
                # The client went away before we answered: the mail was never
                # accepted, as a real relay would not have accepted it.
                with sink._lock:
                    sink.abandoned += 1
                raise
            if not sink.release.is_set():
                return "451 4.3.0 Held too long, try again later"
        elif sink.delay_seconds:
            sink.answering.set()
            await asyncio.sleep(sink.delay_seconds)
        message = email.message_from_bytes(envelope.original_content or b"", policy=email.policy.default)
        with sink._lock:
            sink._messages.append(
                ReceivedMail(
                    mail_from=envelope.mail_from,
                    rcpt_tos=tuple(envelope.rcpt_tos),
                    message=message,
                )
            )
        return "250 2.0.0 Message accepted for delivery"


@dataclass
class SmtpSink:
    """An SMTP server on 127.0.0.1 that keeps what it accepts.

    `hold_next(n)` makes the next n DATA commands wait (bounded) before
    answering: `held` is set when one is waiting, `release` lets it answer.
    A held message whose client disconnects is counted in `abandoned`, never
    in `messages`. `answer_after(seconds)` makes every DATA take that long to
    be accepted (a slow relay); `answering` is set while one is waiting.
    """

    host: str = "127.0.0.1"
    port: int = 0
    held: threading.Event = field(default_factory=threading.Event)
    release: threading.Event = field(default_factory=threading.Event)
    abandoned: int = 0
    answering: threading.Event = field(default_factory=threading.Event)
    delay_seconds: float = 0.0
    _to_hold: int = 0
    _messages: list[ReceivedMail] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def messages(self) -> list[ReceivedMail]:
        with self._lock:
            return list(self._messages)

    def answer_after(self, seconds: float) -> None:
        self.delay_seconds = seconds

    def hold_next(self, count: int = 1) -> None:
        with self._lock:
            self._to_hold = count

    def _take_hold(self) -> bool:
        with self._lock:
            if self._to_hold <= 0:
                return False
            self._to_hold -= 1
            return True

    def describe(self) -> str:
        messages = self.messages
        lines = [f"SMTP sink {self.host}:{self.port}: {len(messages)} accepted, {self.abandoned} abandoned"]
        lines += [f"  {m.mail_from} -> {', '.join(m.rcpt_tos)}: {m.message['Subject']}" for m in messages]
        return "\n".join(lines)


@pytest.fixture
def smtp_sink(processes: Processes) -> Iterator[SmtpSink]:
    sink = SmtpSink(port=free_port())
    processes.watch("SMTP receiver", sink.describe)
    controller = Controller(_Handler(sink), hostname=sink.host, port=sink.port, ready_timeout=10)
    controller.start()
    try:
        yield sink
    finally:
        sink.release.set()
        controller.stop()
