"""A real Celery worker, for tests about the queue itself.

Tests that use it run the worker as its own process (`celery -A restaurant
worker`, prefork, one child) against the test database and a Redis broker,
and receive its emails with the SMTP receiver of tests/harness/smtp.py.

Such tests need committed data the worker can see, so they are
`@pytest.mark.django_db(transaction=True)` and marked `postgres` and `redis`
(an in-memory SQLite test database cannot be shared between processes).
Import the fixtures into the test module (`celery_worker = worker_harness.celery_worker`).

Every wait is bounded; a failure message, and the report of a failed test,
carry the worker's log (tests/harness/processes.py).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, urlencode

import pytest
from django.conf import settings
from django.db import connection

from tests.harness.processes import ROOT, Process, Processes, free_port, wait_until
from tests.harness.smtp import SmtpSink

__all__ = ["ROOT", "free_port", "wait_until"]

QUEUES = ("orders", "notifications", "webhooks")
# Short, so a message whose worker vanished whole comes back within a test's bounds.
WORKER_VISIBILITY_TIMEOUT = 10
READY_TIMEOUT = 30.0
STOP_TIMEOUT = 15.0


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
    process: Process

    @property
    def pid(self) -> int:
        return self.process.pid

    def log(self) -> str:
        return self.process.log()

    def explain(self, limit: int = 12000) -> str:
        return self.process.explain(limit)

    def pool_pids(self) -> list[int]:
        return child_pids(self.pid)

    def find(self, pattern: str) -> list[re.Match[str]]:
        return list(re.finditer(pattern, self.log()))

    def wait_for_log(self, pattern: str, *, count: int = 1, timeout: float = 20.0) -> list[re.Match[str]]:
        def found() -> list[re.Match[str]] | None:
            if self.process.poll() is not None:
                raise AssertionError(f"the worker exited while waiting for {pattern!r}\n{self.explain()}")
            matches = self.find(pattern)
            return matches if len(matches) >= count else None

        what = f"{count}x {pattern!r} in the worker log"
        matches: list[re.Match[str]] = wait_until(found, timeout=timeout, what=what, explain=self.explain)
        return matches

    def wait_for_task(self, name: str, task_id: str, *, timeout: float = 20.0) -> str:
        """Waits for the worker to log that the task succeeded; returns its logged return value."""
        pattern = rf"Task {re.escape(name)}\[{re.escape(task_id)}\] succeeded in [\d.]+s: (.*)"
        return self.wait_for_log(pattern, timeout=timeout)[0].group(1).strip()

    def stop(self) -> None:
        """Warm shutdown (SIGTERM to its group), SIGKILL to the group after a bound."""
        self.process.stop(timeout=STOP_TIMEOUT)


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
def celery_worker(transactional_db: None, processes: Processes) -> Iterator[Callable[..., Worker]]:
    """Starts real workers: `celery_worker(smtp_sink)` returns a ready Worker.

    Queues are purged first (pass purge=False when the test has just checked
    them), and `env={...}` adds environment variables for the worker. Workers
    are stopped before the test database is flushed: this fixture depends on
    transactional_db, so it is torn down first.
    """
    workers: list[Worker] = []

    def start(
        sink: SmtpSink | None = None, *, purge: bool = True, env: Mapping[str, str] | None = None
    ) -> Worker:
        if purge:
            purge_queues()
        number = len(workers) + 1
        process = processes.start(
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
                f"test-{os.getpid()}-{number}@%h",
                "-l",
                "info",
            ],
            name=f"celery worker {number}",
            env=worker_env(sink, env),
        )
        worker = Worker(process=process)
        workers.append(worker)
        worker.wait_for_log(r"\bready\.", timeout=READY_TIMEOUT)
        return worker

    yield start

    for worker in workers:
        worker.stop()


def celery_beat(processes: Processes, schedule_dir: Path, env: Mapping[str, str] | None = None) -> Process:
    """Starts the one beat process (the outbox sweep and the other periodic tasks); ready once it ticks."""
    process = processes.start(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "restaurant",
            "beat",
            "-s",
            str(schedule_dir / "celerybeat-schedule"),
            "-l",
            "info",
        ],
        name="celery beat",
        env=worker_env(None, env),
    )
    process.wait_ready(lambda: "beat: Starting" in process.log(), timeout=READY_TIMEOUT)
    return process
