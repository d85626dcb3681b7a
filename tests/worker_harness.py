"""A real Celery worker and a real SMTP receiver, for tests about the queue itself.

Tests that use these run the worker as its own process (`celery -A restaurant
worker`, prefork, one child) against the test database and a Redis broker, and
receive its emails over SMTP on 127.0.0.1. The receiver is aiosmtpd: it stands
in for the mail relay, the one third party we cannot reach from here.

Such tests need committed data the worker can see, so they are
`@pytest.mark.django_db(transaction=True)` and marked `postgres` and `redis`
(an in-memory SQLite test database cannot be shared between processes).
Load the fixtures with `pytest_plugins = ["tests.worker_harness"]`.

Every wait is bounded, and a failure message carries the worker's log.
"""

from __future__ import annotations

import asyncio
import email
import email.message
import email.policy
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

import pytest
from aiosmtpd.controller import Controller
from django.conf import settings
from django.db import connection

ROOT = Path(__file__).resolve().parent.parent
QUEUES = ("orders", "notifications", "webhooks")
# Short, so a message whose worker vanished whole comes back within a test's bounds.
WORKER_VISIBILITY_TIMEOUT = 10
READY_TIMEOUT = 30.0
STOP_TIMEOUT = 15.0
HOLD_TIMEOUT = 30.0


def wait_until(
    predicate: Callable[[], Any], *, timeout: float, what: str, explain: Callable[[], str] = str
) -> Any:
    """Polls `predicate` until it returns something truthy, for at most `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}\n{explain()}")
        time.sleep(0.05)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# ---------------------------------------------------------------- SMTP receiver


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
                    message=message,  # type: ignore[arg-type]
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
def smtp_sink() -> Iterator[SmtpSink]:
    sink = SmtpSink(port=free_port())
    controller = Controller(_Handler(sink), hostname=sink.host, port=sink.port, ready_timeout=10)
    controller.start()
    try:
        yield sink
    finally:
        sink.release.set()
        controller.stop()


# ---------------------------------------------------------------- Celery worker


def worker_database_url() -> str:
    """The URL of the database this test process uses (the test database, once set up)."""
    conf = connection.settings_dict
    user = quote(conf.get("USER") or "", safe="")
    password = quote(conf.get("PASSWORD") or "", safe="")
    credentials = f"{user}:{password}@" if password else (f"{user}@" if user else "")
    host = conf.get("HOST") or "127.0.0.1"
    port = f":{conf['PORT']}" if conf.get("PORT") else ""
    options = {k: v for k, v in (conf.get("OPTIONS") or {}).items() if isinstance(v, str | int)}
    query = f"?{urlencode(options)}" if options else ""
    return f"postgres://{credentials}{host}{port}/{quote(conf['NAME'], safe='')}{query}"


def purge_queues() -> None:
    """Empties the worker's queues, and the broker's record of unacknowledged messages.

    A message a killed worker left unacknowledged (in an earlier run) would
    otherwise come back after the visibility timeout, in the middle of a test.
    """
    from restaurant.celery import app

    with app.connection_for_write() as conn:
        channel = conn.default_channel
        for queue in QUEUES:
            channel.queue_purge(queue)
        unacked = (channel.unacked_key, channel.unacked_index_key, channel.unacked_mutex_key)
        channel.client.delete(*unacked)


def queue_sizes() -> dict[str, int]:
    from restaurant.celery import app

    with app.connection_for_write() as conn:
        channel = conn.default_channel
        return {queue: channel.queue_declare(queue=queue).message_count for queue in QUEUES}


def child_pids(pid: int) -> list[int]:
    """The processes whose parent is `pid`: for a prefork worker, its pool children."""
    result = subprocess.run(
        ["ps", "-o", "pid=", "--ppid", str(pid)], capture_output=True, text=True, check=False
    )
    return [int(line) for line in result.stdout.split()]


@dataclass
class Worker:
    proc: subprocess.Popen[bytes]
    log_path: Path

    @property
    def pid(self) -> int:
        return self.proc.pid

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def explain(self, limit: int = 12000) -> str:
        text = self.log()
        if len(text) > limit:
            text = "…" + text[-limit:]
        state = "running" if self.proc.poll() is None else f"exited {self.proc.returncode}"
        return f"--- celery worker pid {self.pid} ({state}), log {self.log_path}:\n{text}"

    def pool_pids(self) -> list[int]:
        return child_pids(self.pid)

    def find(self, pattern: str) -> list[re.Match[str]]:
        return list(re.finditer(pattern, self.log()))

    def wait_for_log(self, pattern: str, *, count: int = 1, timeout: float = 20.0) -> list[re.Match[str]]:
        def found() -> list[re.Match[str]] | None:
            if self.proc.poll() is not None:
                raise AssertionError(f"the worker exited while waiting for {pattern!r}\n{self.explain()}")
            matches = self.find(pattern)
            return matches if len(matches) >= count else None

        what = f"{count}x {pattern!r} in the worker log"
        return wait_until(found, timeout=timeout, what=what, explain=self.explain)

    def wait_for_task(self, name: str, task_id: str, *, timeout: float = 20.0) -> str:
        """Waits for the worker to log that the task succeeded; returns its logged return value."""
        pattern = rf"Task {re.escape(name)}\[{re.escape(task_id)}\] succeeded in [\d.]+s: (.*)"
        return self.wait_for_log(pattern, timeout=timeout)[0].group(1).strip()

    def stop(self) -> None:
        """Warm shutdown (SIGTERM), then SIGKILL to the whole process group after a bound."""
        if self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=5)


def worker_env(sink: SmtpSink | None, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The worker's environment: this process's, pointed at the test database and broker.

    `extra` adds or overrides variables (PARTNER_WEBHOOK_MAX_ATTEMPTS=3), read
    by the worker's settings at start-up.
    """
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "restaurant.settings",
        "DATABASE_URL": worker_database_url(),
        "REDIS_URL": settings.REDIS_URL,
        "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
        "CELERY_VISIBILITY_TIMEOUT": str(WORKER_VISIBILITY_TIMEOUT),
        "PYTHONUNBUFFERED": "1",
    }
    if sink is not None:
        env |= {
            "EMAIL_HOST": sink.host,
            "EMAIL_PORT": str(sink.port),
            "EMAIL_USE_TLS": "false",
            "EMAIL_HOST_USER": "",
            "EMAIL_HOST_PASSWORD": "",
        }
    return env | dict(extra or {})


@pytest.fixture
def celery_worker(transactional_db, tmp_path: Path) -> Iterator[Callable[..., Worker]]:  # type: ignore[no-untyped-def]
    """Starts real workers: `celery_worker(smtp_sink)` returns a ready Worker.

    Queues are purged first (pass purge=False when the test has just checked
    them), and `env={...}` adds environment variables for the worker. Workers
    are stopped before the test database is flushed: this fixture depends on
    transactional_db, so it is torn down first. Each worker's log is printed at
    teardown, which pytest shows when a test fails.
    """
    workers: list[Worker] = []

    def start(
        sink: SmtpSink | None = None, *, purge: bool = True, env: Mapping[str, str] | None = None
    ) -> Worker:
        if purge:
            purge_queues()
        log_path = tmp_path / f"celery-worker-{len(workers) + 1}.log"
        with log_path.open("wb") as log:
            proc = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "celery",
                    "-A",
                    "restaurant",
                    "worker",
                    "-Q",
                    ",".join(QUEUES),
                    "--concurrency",
                    "1",
                    "--pool",
                    "prefork",
                    "--without-heartbeat",
                    "--without-gossip",
                    "--without-mingle",
                    "-n",
                    f"test-{os.getpid()}-{len(workers) + 1}@%h",
                    "-l",
                    "info",
                ],
                cwd=ROOT,
                env=worker_env(sink, env),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group, for the SIGKILL fallback
            )
        worker = Worker(proc=proc, log_path=log_path)
        workers.append(worker)
        worker.wait_for_log(r"\bready\.", timeout=READY_TIMEOUT)
        return worker

    yield start

    for worker in workers:
        worker.stop()
        print(worker.explain(limit=60000))
