"""A delivery partner's webhook endpoint on 127.0.0.1, for tests that send partner webhooks.

A real HTTP server (http.server.ThreadingHTTPServer in a thread of the test
process) that keeps every request it receives and answers each with the next
status of a script, then with a default. Eager tests and real Celery workers
(another process) reach it the same way, over TCP.

    receiver.answer(500, 500, 500, then=200)   # fail three times, then take them
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from pytest_django.fixtures import Settings

from tests.harness.processes import Processes

MAX_BODY = 1024 * 1024


@dataclass(frozen=True)
class ReceivedRequest:
    # time.monotonic() when the request arrived, for measuring the gaps between tries.
    at: float
    path: str
    headers: dict[str, str]
    body: bytes
    answered: int

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())


@dataclass
class WebhookReceiver:
    host: str = "127.0.0.1"
    port: int = 0
    default_status: int = 200
    # answer_after(seconds): every request waits that long for its answer (a slow
    # partner); `answering` is set while one waits.
    delay_seconds: float = 0.0
    answering: threading.Event = field(default_factory=threading.Event)
    _script: list[int] = field(default_factory=list)
    _requests: list[ReceivedRequest] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}/hooks/brigade"

    @property
    def requests(self) -> list[ReceivedRequest]:
        with self._lock:
            return list(self._requests)

    def answer_after(self, seconds: float) -> None:
        self.delay_seconds = seconds

    def answer(self, *statuses: int, then: int = 200) -> None:
        """The next requests get `statuses` in turn; every later one gets `then`."""
        with self._lock:
            self._script = list(statuses)
            self.default_status = then

    def _receive(self, path: str, headers: dict[str, str], body: bytes) -> int:
        with self._lock:
            status = self._script.pop(0) if self._script else self.default_status
            self._requests.append(
                ReceivedRequest(at=time.monotonic(), path=path, headers=headers, body=body, answered=status)
            )
        return status

    def wait_for(
        self, count: int, *, timeout: float, explain: Callable[[], str] = str
    ) -> list[ReceivedRequest]:
        deadline = time.monotonic() + timeout
        while len(self.requests) < count:
            if time.monotonic() >= deadline:
                raise AssertionError(
                    f"timed out after {timeout:.0f}s waiting for {count} webhook(s)\n"
                    f"{self.describe()}\n{explain()}"
                )
            time.sleep(0.02)
        return self.requests

    def describe(self) -> str:
        received = self.requests
        lines = [f"webhook receiver {self.url}: {len(received)} request(s)"]
        start = received[0].at if received else 0.0
        lines += [f"  +{r.at - start:.2f}s {r.header('Brigade-Event-Id')} -> {r.answered}" for r in received]
        return "\n".join(lines)


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def do_POST(self) -> None:
        length = min(int(self.headers.get("Content-Length") or 0), MAX_BODY)
        body = self.rfile.read(length)
        headers = {name.lower(): value for name, value in self.headers.items()}
        receiver = self.server.receiver
        if receiver.delay_seconds:
            receiver.answering.set()
            time.sleep(receiver.delay_seconds)
        status = receiver._receive(self.path, headers, body)
        self.send_response(status)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, format: str, *args: object) -> None:
        pass


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    receiver: WebhookReceiver


def allow_private_networks(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    """Lets partner webhooks go to 127.0.0.1, here and in workers started by this test.

    Off by default (and refused in production): a partner URL inside our
    network is refused when saved and when sent.
    """
    settings.PARTNER_WEBHOOK_ALLOW_PRIVATE_NETWORKS = True
    # Workers are separate processes: they read it from their environment.
    monkeypatch.setenv("PARTNER_WEBHOOK_ALLOW_PRIVATE_NETWORKS", "true")


@pytest.fixture
def allow_private_partner_urls(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    allow_private_networks(settings, monkeypatch)


@pytest.fixture
def webhook_receiver(
    settings: Settings, monkeypatch: pytest.MonkeyPatch, processes: Processes
) -> Iterator[WebhookReceiver]:
    """A partner on 127.0.0.1, so private partner URLs are allowed while it runs."""
    allow_private_networks(settings, monkeypatch)
    server = _Server(("127.0.0.1", 0), _Handler)
    receiver = WebhookReceiver(port=server.server_address[1])
    processes.watch("partner webhook receiver", receiver.describe)
    server.receiver = receiver
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
