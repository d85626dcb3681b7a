"""The one way a test runs a program of its own (daphne, a Celery worker, redis-server).

Each program starts in its own process group (so a prefork worker's children
go with it), writes stdout and stderr to a log file, is waited for with a
bound, and is stopped as a group: SIGTERM, then SIGKILL after a timeout, and
reaped. The `processes` fixture (tests/conftest.py) keeps every process a test
starts, stops what is left when the test ends, and attaches each log's tail
(and what each watched receiver got) to the report of a test that failed.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
STOP_TIMEOUT = 15.0
REAP_TIMEOUT = 10.0
LOG_TAIL = 12000

STARTED = pytest.StashKey["Processes"]()


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
        port: int = sock.getsockname()[1]
        return port


@dataclass(eq=False)
class Process:
    name: str
    popen: subprocess.Popen[bytes]
    log_path: Path

    @property
    def pid(self) -> int:
        return self.popen.pid

    def poll(self) -> int | None:
        return self.popen.poll()

    def wait(self, timeout: float = REAP_TIMEOUT) -> int:
        return self.popen.wait(timeout=timeout)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def explain(self, limit: int = LOG_TAIL) -> str:
        text = self.log()
        if len(text) > limit:
            text = "…" + text[-limit:]
        code = self.popen.poll()
        state = "running" if code is None else f"exited {code}"
        return f"--- {self.name} pid {self.pid} ({state}), log {self.log_path}:\n{text}"

    def wait_ready(self, ready: Callable[[], Any], *, timeout: float, what: str | None = None) -> Any:
        """Waits until `ready()` is truthy; fails at once, with the log, if the process exits first."""

        def check() -> Any:
            code = self.popen.poll()
            if code is not None:
                raise AssertionError(f"{self.name} exited ({code}) before it was ready\n{self.explain()}")
            return ready()

        return wait_until(
            check, timeout=timeout, what=what or f"{self.name} to be ready", explain=self.explain
        )

    def _signal_group(self, signum: int) -> None:
        with suppress(ProcessLookupError):  # the whole group has gone already
            os.killpg(self.pid, signum)

    def stop(self, timeout: float = STOP_TIMEOUT) -> None:
        """SIGTERM to the whole group, SIGKILL after `timeout`; reaped either way."""
        if self.popen.poll() is None:
            self._signal_group(signal.SIGTERM)
            with suppress(subprocess.TimeoutExpired):
                self.popen.wait(timeout=timeout)
        # Children the leader left behind (a prefork pool) go too.
        self._signal_group(signal.SIGKILL)
        self.popen.wait(timeout=REAP_TIMEOUT)

    def kill(self) -> None:
        """SIGKILL to the whole group at once (an outage on demand), reaped."""
        self._signal_group(signal.SIGKILL)
        self.popen.wait(timeout=REAP_TIMEOUT)


@dataclass
class Processes:
    """Every process one test starts, in order, and the receivers it runs in this process."""

    log_dir: Path
    started: list[Process] = field(default_factory=list)
    watched: list[tuple[str, Callable[[], str]]] = field(default_factory=list)

    def start(
        self,
        argv: Sequence[str],
        *,
        name: str,
        env: Mapping[str, str] | None = None,
        cwd: Path = ROOT,
        log_path: Path | None = None,
    ) -> Process:
        log_path = log_path or self.log_dir / f"{name.replace(' ', '-')}-{len(self.started) + 1}.log"
        log_path.parent.mkdir(parents=True, exist_ok=True)
        with log_path.open("ab") as log:
            popen = subprocess.Popen(
                list(argv),
                cwd=cwd,
                env=dict(env) if env is not None else None,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        process = Process(name=name, popen=popen, log_path=log_path)
        self.started.append(process)
        return process

    def watch(self, name: str, describe: Callable[[], str]) -> None:
        """A receiver in this process (SMTP, a partner's endpoint); what it got joins a failure's report."""
        self.watched.append((name, describe))

    def stop_all(self) -> None:
        for process in reversed(self.started):
            process.stop()

    def report(self) -> list[tuple[str, str]]:
        logs = [(f"log of {p.name} (pid {p.pid})", p.explain()) for p in self.started]
        return logs + [(name, describe()) for name, describe in self.watched]


@contextmanager
def processes_for(node: pytest.Item, log_dir: Path) -> Iterator[Processes]:
    started = Processes(log_dir=log_dir)
    node.stash[STARTED] = started
    try:
        yield started
    finally:
        started.stop_all()


def attach_logs(item: pytest.Item, report: pytest.TestReport) -> None:
    """A failed test's report carries the tail of each of its processes' logs."""
    started = item.stash.get(STARTED, None)
    if started is None or not report.failed:
        return
    for title, text in started.report():
        report.sections.append((f"{title} [{report.when}]", text))
