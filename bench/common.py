"""What every benchmark here shares: its environment, a fresh database, processes started and stopped."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable


def bench_env(
    *, database: str, redis_db: int, var_dir: Path, settings_module: str = "restaurant.settings", **extra: str
) -> dict[str, str]:
    """The product's settings on this machine's PostgreSQL and Redis, with the benchmark's own database."""
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": settings_module,
        "DATABASE_URL": f"postgres://postgres@127.0.0.1:5432/{database}",
        "REDIS_URL": f"redis://127.0.0.1:6379/{redis_db}",
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "BRIGADE_VAR_DIR": str(var_dir),
        "PYTHONUNBUFFERED": "1",
        **extra,
    }


# The production tier on one machine: the page server, and one worker for every queue.
WORKER_COMMAND = [
    PYTHON, "-m", "celery", "-A", "restaurant", "worker", "-Q", "orders,notifications,webhooks",
    "--concurrency", "2", "-l", "WARNING",
]  # fmt: skip


def gunicorn_command(port: int, *, workers: int = 2) -> list[str]:
    return [PYTHON, "-m", "gunicorn", "-w", str(workers), "-b", f"127.0.0.1:{port}", "restaurant.wsgi"]


def run(args: list[str], env: dict[str, str]) -> None:
    subprocess.run(args, cwd=ROOT, env=env, check=True, stdout=subprocess.DEVNULL)


def prepare(env: dict[str, str], *, database: str, redis_db: int, commands: list[list[str]]) -> None:
    """Drops and makes the database again, flushes the Redis database, runs the management commands."""
    psql = ["psql", "-h", "127.0.0.1", "-U", "postgres", "-q", "-c"]
    run([*psql, f"DROP DATABASE IF EXISTS {database} WITH (FORCE)"], env)
    run([*psql, f"CREATE DATABASE {database}"], env)
    run(["redis-cli", "-n", str(redis_db), "FLUSHDB"], env)
    for command in commands:
        run([PYTHON, "manage.py", *command, "-v0"], env)


def stock_for_the_rush() -> None:
    """Counts every ingredient at the most one count may record, so no demo dish sells out mid-run.

    The demo keeps one dish close to running out (menu.pantry); a benchmark
    measures the pages, not the moment that dish is gone. Django must be set up.
    """
    from accounts.roles import Actor
    from menu.models import Ingredient
    from menu.pantry.models import MAX_QUANTITY
    from menu.pantry.services import stock_count

    bench = Actor.system("bench")
    for ingredient in Ingredient.objects.all():
        stock_count(ingredient_id=ingredient.pk, counted=MAX_QUANTITY, unit=ingredient.unit, actor=bench)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_healthy(url: str, process: subprocess.Popen[bytes], what: str) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"{what} exited early")
        try:
            with urllib.request.urlopen(url + "/healthz", timeout=1) as answer:  # noqa: S310 - loopback
                if answer.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise SystemExit(f"{what} did not start")


def launch(command: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(command, cwd=ROOT, env=env, stdout=log.open("ab"), stderr=subprocess.STDOUT)


def stop_all(processes: list[subprocess.Popen[bytes]]) -> None:
    for process in processes:
        process.terminate()
    for process in processes:
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def latency_summary(values: list[float], *, counted: str = "frames") -> dict:
    """How many, and p50 / p95 / p99 / max in milliseconds."""
    if not values:
        return {counted: 0}
    return {
        counted: len(values),
        "p50_ms": round(percentile(values, 0.50) * 1000, 1),
        "p95_ms": round(percentile(values, 0.95) * 1000, 1),
        "p99_ms": round(percentile(values, 0.99) * 1000, 1),
        "max_ms": round(max(values) * 1000, 1),
    }


_TICKS = os.sysconf("SC_CLK_TCK")


def _proc_stat(pid: int) -> tuple[int, str, float] | None:
    """(parent pid, command, CPU seconds used so far) of a live process, from /proc."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command sits in parentheses and may itself hold spaces or parentheses.
    command = text[text.index("(") + 1 : text.rindex(")")]
    fields = text[text.rindex(")") + 2 :].split()
    # Its own time and that of the children it reaped: PostgreSQL's backends and
    # a pool's workers come and go, and their time is their parent's once they end.
    return int(fields[1]), command, sum(int(value) for value in fields[11:15]) / _TICKS


def cpu_by_group(
    roots: dict[str, int], commands: dict[str, str], alone: dict[str, int] | None = None
) -> dict[str, float]:
    """CPU seconds used so far by each named process tree (a root pid and its
    descendants), by each process named alone (without the children it
    started), and by every process running each named command (the machine's
    PostgreSQL or Redis, which also serve anything else running)."""
    stats = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and (stat := _proc_stat(int(entry.name))) is not None:
            stats[int(entry.name)] = stat
    children: dict[int, list[int]] = {}
    for pid, (parent, _, _) in stats.items():
        children.setdefault(parent, []).append(pid)

    def tree(pid: int) -> float:
        own = stats[pid][2] if pid in stats else 0.0
        return own + sum(tree(child) for child in children.get(pid, ()))

    used = {name: tree(pid) for name, pid in roots.items()}
    for name, pid in (alone or {}).items():
        used[name] = stats[pid][2] if pid in stats else 0.0
    for name, command in commands.items():
        used[name] = sum(seconds for _, cmd, seconds in stats.values() if cmd == command)
    return used
