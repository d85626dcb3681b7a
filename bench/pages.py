"""The menu page against a bare Django view, on the production set-up for pages.

    make bench-pages                                          # 32 connections, 10 s per run, 2 rounds
    .venv/bin/python bench/pages.py --connections 64 --seconds 20 --rounds 3

What runs: gunicorn with 2 sync workers (the production web tier for pages)
on this machine's PostgreSQL and Redis, with the product's settings and one
extra URL, /bench/bare/ (bench/pages_urls.py: same middleware, a fixed body
of the menu page's size, no database, cache or template). The database
`brigade_bench_pages` is dropped and made again with the demo restaurant,
and Redis database 8 is flushed.

What is measured, with wrk (Debian's `wrk`; apt-get install wrk), each run
after a warm-up, alternating within each round so both see the same machine:
the bare view; `/menu/` as a new visitor (no cookies: the cached menu body
plus the visitor's own header); and `/menu/` with `If-None-Match` carrying
that visitor's ETag (304, no body). Requests/s, p50/p95/p99 latency, and the
menu's throughput as a share of the bare view's (the target is 0.5).

The load generator shares the machine's two cores with what it measures.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import urllib.request
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import ROOT, bench_env, free_port, gunicorn_command, prepare, wait_healthy

DATABASE = "brigade_bench_pages"
REDIS_DB = 8

# wrk's own statistics, printed as one JSON line when a run is done.
WRK_REPORT = """
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '{"requests": %d, "duration_us": %d, "socket_errors": %d, "bad_status": %d, ' ..
    '"p50_us": %d, "p95_us": %d, "p99_us": %d}\\n',
    summary.requests, summary.duration, e.connect + e.read + e.write + e.timeout, e.status,
    latency:percentile(50), latency:percentile(95), latency:percentile(99)))
end
"""


def _env(var_dir: Path) -> dict[str, str]:
    return bench_env(
        database=DATABASE, redis_db=REDIS_DB, var_dir=var_dir, settings_module="bench.pages_settings"
    )


def _prepare(env: dict[str, str]) -> None:
    commands = [["migrate", "--noinput"], ["seed_demo"], ["collectstatic", "--noinput"]]
    prepare(env, database=DATABASE, redis_db=REDIS_DB, commands=commands)


def _get(url: str, headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(url, headers=headers or {})  # noqa: S310 - loopback
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:  # noqa: S310 - loopback
            return answer.status, dict(answer.headers), answer.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), b""


def _wrk(url: str, *, connections: int, seconds: int, script: Path, headers: dict[str, str]) -> dict:
    argv = [
        "wrk",
        "-t",
        "2",
        "-c",
        str(connections),
        "-d",
        f"{seconds}s",
        "-s",
        str(script),
        "--timeout",
        "10s",
    ]
    for name, value in headers.items():
        argv += ["-H", f"{name}: {value}"]
    output = subprocess.run([*argv, url], capture_output=True, text=True, check=True).stdout
    result: dict = json.loads(output.strip().splitlines()[-1])
    result["rps"] = result["requests"] / (result["duration_us"] / 1e6)
    return result


def _row(name: str, run: dict, floor: float | None) -> str:
    share = f"{run['rps'] / floor:.2f}" if floor else "1"
    return (
        f"| {name} | {run['rps']:,.0f} | {run['p50_us'] / 1000:.1f} ms | {run['p95_us'] / 1000:.1f} ms "
        f"| {run['p99_us'] / 1000:.1f} ms | {run['socket_errors']} / {run['bad_status']} | {share} |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--seconds", type=int, default=10, help="length of each measured run")
    parser.add_argument("--rounds", type=int, default=2, help="bare / menu / 304 runs, alternated")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn sync workers")
    options = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("needs wrk: apt-get install wrk")

    var_dir = Path(tempfile.mkdtemp(prefix="brigade-bench-pages-"))
    env = _env(var_dir)
    print(f"preparing {DATABASE} and Redis db {REDIS_DB}…", flush=True)
    _prepare(env)
    script = var_dir / "report.lua"
    script.write_text(WRK_REPORT)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = (var_dir / "gunicorn.log").open("wb")
    gunicorn = subprocess.Popen(
        gunicorn_command(port, workers=options.workers),
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        wait_healthy(url, gunicorn, "gunicorn")
        status, headers, menu_body = _get(url + "/menu/")
        etag = headers.get("ETag", "")
        bare_status, _, bare_body = _get(url + "/bench/bare/")
        revalidated, _, _ = _get(url + "/menu/", {"If-None-Match": etag})
        if (status, bare_status, revalidated) != (200, 200, 304) or not etag:
            raise SystemExit(
                f"unexpected answers: menu {status}, bare {bare_status}, revalidated {revalidated}"
            )
        print(
            f"menu page {len(menu_body):,} bytes, bare view {len(bare_body):,} bytes, ETag {etag}", flush=True
        )
        runs: dict[str, list[dict]] = {"bare": [], "menu": [], "menu_304": []}
        targets = {
            "bare": (url + "/bench/bare/", {}),
            "menu": (url + "/menu/", {}),
            "menu_304": (url + "/menu/", {"If-None-Match": etag}),
        }
        for round_number in range(1, options.rounds + 1):
            for name, (target, extra) in targets.items():
                _wrk(
                    target, connections=options.connections, seconds=2, script=script, headers=extra
                )  # warm-up
                run = _wrk(
                    target,
                    connections=options.connections,
                    seconds=options.seconds,
                    script=script,
                    headers=extra,
                )
                runs[name].append(run)
                print(f"round {round_number} {name}: {run['rps']:,.0f} req/s", flush=True)
    finally:
        gunicorn.terminate()
        gunicorn.wait(timeout=20)

    print()
    print(
        f"Command: bench/pages.py --connections {options.connections} --seconds {options.seconds} "
        f"--rounds {options.rounds} --workers {options.workers}"
    )
    print(f"Machine: {platform.node()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    print(f"Date: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC")
    print()
    print("| run | requests/s | p50 | p95 | p99 | socket errors / bad status | share of bare |")
    print("|---|---|---|---|---|---|---|")
    for index in range(options.rounds):
        floor = runs["bare"][index]["rps"]
        print(_row(f"bare view, round {index + 1}", runs["bare"][index], None))
        print(_row(f"`/menu/`, round {index + 1}", runs["menu"][index], floor))
        print(_row(f"`/menu/` + If-None-Match (304), round {index + 1}", runs["menu_304"][index], floor))
    best = max(run["rps"] for run in runs["bare"])
    shares = [m["rps"] / b["rps"] for m, b in zip(runs["menu"], runs["bare"], strict=True)]
    print()
    per_round = ", ".join(f"{share:.2f}" for share in shares)
    print(f"menu / bare, per round: {per_round} (target 0.5); best bare {best:,.0f} req/s")
    print(f"logs: {var_dir}")


if __name__ == "__main__":
    main()
