"""A throwaway redis-server of a test's own, to stop and start again (an outage on demand)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import redis

from tests.harness.processes import Process, Processes

SERVER_START_SECONDS = 20


def start_redis(port: int, workdir: Path, processes: Processes) -> Process:
    """A redis-server on 127.0.0.1:`port` keeping nothing on disk; returns once it answers PING."""
    process = processes.start(
        [
            "redis-server",
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(workdir),
        ],
        name=f"redis-server {port}",
        log_path=workdir / f"redis-{port}-{len(processes.started) + 1}.log",
    )

    def answers() -> bool:
        client = redis.Redis(host="127.0.0.1", port=port, socket_connect_timeout=0.5, socket_timeout=0.5)
        try:
            return bool(client.ping())
        except redis.RedisError:
            return False
        finally:
            client.close()

    process.wait_ready(answers, timeout=SERVER_START_SECONDS, what=f"redis-server answering on port {port}")
    return process


def caches_on(caches: dict[str, Any], port: int) -> dict[str, dict[str, Any]]:
    """Every cache alias the product has, on the redis-server at `port`, shaped as the settings shape them."""
    own = {
        **caches["default"],
        "BACKEND": "django_redis.cache.RedisCache",
        "LOCATION": f"redis://127.0.0.1:{port}/0",
    }
    return {
        **caches,
        "default": own,
        "waffle": {**own, "OPTIONS": {**own.get("OPTIONS", {}), "IGNORE_EXCEPTIONS": True}, "TIMEOUT": 60},
    }
