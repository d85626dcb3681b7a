"""`gunicorn restaurant.wsgi`, run from the project folder, starts the workers gunicorn.conf.py says."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]


def _workers(**env: str) -> int:
    environment = {k: v for k, v in os.environ.items() if k != "WEB_CONCURRENCY"} | env
    printed = subprocess.run(
        [sys.executable, "-m", "gunicorn", "--print-config", "restaurant.wsgi"],
        cwd=REPO_ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout
    found = re.search(r"^workers\s*=\s*(\d+)$", printed, re.MULTILINE)
    assert found, printed
    return int(found.group(1))


def test_two_sync_workers_per_core_by_default() -> None:
    assert _workers() == 2 * (os.cpu_count() or 1)


def test_web_concurrency_sets_the_number_of_workers() -> None:
    assert _workers(WEB_CONCURRENCY="3") == 3
