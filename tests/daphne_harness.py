"""Real daphne processes serving the product against this test's database and Redis."""

from __future__ import annotations

import subprocess
import sys
import urllib.request
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import pytest
from django.conf import settings

from tests.worker_harness import free_port, wait_until, worker_env


@dataclass
class Daphne:
    process: subprocess.Popen[bytes]
    port: int
    log_path: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-6000:]


def _answers(url: str) -> bool | None:
    try:
        with urllib.request.urlopen(url + "/healthz", timeout=1) as response:  # noqa: S310 - loopback only
            return response.status == 200 or None
    except OSError:
        return None


@pytest.fixture
def daphne_instance(transactional_db, tmp_path: Path) -> Iterator[Callable[..., Daphne]]:  # type: ignore[no-untyped-def]
    """Starts daphne instances on free loopback ports; stops them after the test.

    `start(env={...})` adds environment variables for that instance.
    """
    started: list[Daphne] = []

    def start(env: Mapping[str, str] | None = None) -> Daphne:
        port = free_port()
        log_path = tmp_path / f"daphne-{port}.log"
        own = {
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "BRIGADE_VAR_DIR": str(tmp_path),
            # Links in emails and the sandbox's webhook point back at this instance.
            "BRIGADE_BASE_URL": f"http://127.0.0.1:{port}",
        }
        env = worker_env(None, extra={**own, **(env or {})})
        with log_path.open("wb") as log:
            process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "daphne",
                    "-b",
                    "127.0.0.1",
                    "-p",
                    str(port),
                    "restaurant.asgi:application",
                ],
                cwd=settings.BASE_DIR,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        instance = Daphne(process=process, port=port, log_path=log_path)
        started.append(instance)
        wait_until(lambda: _answers(instance.url), timeout=30, what=f"daphne on {port}", explain=instance.log)
        return instance

    yield start
    for instance in started:
        instance.process.terminate()
    for instance in started:
        try:
            instance.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            instance.process.kill()
