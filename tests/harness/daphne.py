"""Real daphne processes serving the product against this test's database and Redis."""

from __future__ import annotations

import sys
import urllib.request
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import pytest

from tests.harness.processes import Process, Processes, free_port
from tests.harness.worker import worker_env

READY_TIMEOUT = 30.0


@dataclass
class Daphne:
    process: Process
    port: int

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    def log(self) -> str:
        return self.process.log()[-6000:]


def answers_healthz(url: str) -> bool | None:
    try:
        with urllib.request.urlopen(url + "/healthz", timeout=1) as response:  # noqa: S310 - loopback only
            return response.status == 200 or None
    except OSError:
        return None


W = TypeVar("W")


def web_instance_start(
    processes: Processes,
    tmp_path: Path,
    started: list[W],
    *,
    kind: str,
    command: list[str],
    port: int,
    make: Callable[[Process, int], W],
    env: Mapping[str, str] | None,
) -> W:
    """Starts one web server process of the product on `port` and waits until it answers /healthz."""
    own = {
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "BRIGADE_VAR_DIR": str(tmp_path),
        # Links in emails and the sandbox's webhook point back at this instance.
        "BRIGADE_BASE_URL": f"http://127.0.0.1:{port}",
    }
    process = processes.start(
        command,
        name=f"{kind} {port}",
        env=worker_env(None, extra={**own, **(env or {})}),
        log_path=tmp_path / f"{kind}-{port}.log",
    )
    instance = make(process, port)
    # Listed before it is ready, so one that never answers is still stopped.
    started.append(instance)
    process.wait_ready(lambda: answers_healthz(f"http://127.0.0.1:{port}"), timeout=READY_TIMEOUT)
    return instance


def daphne_command(port: int) -> list[str]:
    return [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port), "restaurant.asgi:application"]


@pytest.fixture
def daphne_instance(
    transactional_db: None, processes: Processes, tmp_path: Path
) -> Iterator[Callable[..., Daphne]]:
    """Starts daphne instances on free loopback ports; stops them after the test.

    `start(env={...})` adds environment variables for that instance.
    """
    started: list[Daphne] = []

    def start(env: Mapping[str, str] | None = None) -> Daphne:
        port = free_port()
        return web_instance_start(
            processes, tmp_path, started, kind="daphne", command=daphne_command(port),
            port=port, make=Daphne, env=env,
        )  # fmt: skip

    yield start
    # Before the test database is flushed (this fixture depends on transactional_db).
    for instance in started:
        instance.process.stop(timeout=10)
