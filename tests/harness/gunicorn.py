"""Real gunicorn (WSGI, sync workers) serving the product against this test's database and Redis.

Production serves pages and the API from gunicorn and only websockets from
daphne; tests about how pages behave under a real server use this.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.harness.daphne import web_instance_start
from tests.harness.processes import Process, Processes, free_port


@dataclass
class Gunicorn:
    process: Process
    port: int

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def log(self) -> str:
        return self.process.log()[-6000:]


def gunicorn_command(port: int, workers: int = 2) -> list[str]:
    return [
        sys.executable,
        "-m",
        "gunicorn",
        "--bind",
        f"127.0.0.1:{port}",
        "--workers",
        str(workers),
        # A worker busy past this is killed and answers nothing: well above a
        # page's worst case on a loaded machine, so only a real hang trips it.
        "--timeout",
        "60",
        "restaurant.wsgi:application",
    ]


@pytest.fixture
def gunicorn_instance(
    transactional_db: None, processes: Processes, tmp_path: Path
) -> Iterator[Callable[..., Gunicorn]]:
    """Starts gunicorn instances on free loopback ports; stops them after the test.

    `start(env={...}, workers=2)` adds environment variables for that instance.
    """
    started: list[Gunicorn] = []

    def start(env: Mapping[str, str] | None = None, workers: int = 2) -> Gunicorn:
        port = free_port()
        return web_instance_start(
            processes, tmp_path, started, kind="gunicorn", command=gunicorn_command(port, workers),
            port=port, make=Gunicorn, env=env,
        )  # fmt: skip

    yield start
    # Before the test database is flushed (this fixture depends on transactional_db).
    for instance in started:
        instance.process.stop(timeout=10)
