"""API order creation against a bare DRF view, on the production set-up for the API.

    make bench-api                                            # 16 connections, 10 s per run, 2 rounds
    .venv/bin/python bench/api.py --connections 32 --seconds 20 --rounds 3

What runs: gunicorn with 2 sync workers (the production web tier for pages
and the API) on this machine's PostgreSQL and Redis, with the product's
settings and one extra URL, /bench/bare-api/ (bench/api_urls.py: DRF on the
same middleware, parsing the same body, answering a fixed body of an order
answer's size). The database (`--database`, default `brigade_bench_api`) is
dropped and made again with the demo restaurant, its kitchen sized so that
pacing never refuses, and the Redis database (`--redis-db`) is flushed. The
doors' rate limits and the cap on unpaid orders are lifted for the run: one
customer places every order.

What is measured, with wrk, each run after a warm-up, alternating within each
round: `POST /api/v1/orders/` as the demo customer's app (a JWT), three
lines (one with modifiers), each request with a new `Idempotency-Key`, so
every request places an order, books its kitchen slot and starts its sandbox
payment; and the bare view with the same body. Orders/s, p50/p95/p99, and
the orders counted in the database against the 201s wrk saw.

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

from bench.common import (
    PYTHON,
    ROOT,
    bench_env,
    free_port,
    gunicorn_command,
    prepare,
    stock_for_the_rush,
    wait_healthy,
)
from bench.pages import WRK_REPORT, _row, _wrk

# Each request a new Idempotency-Key: thread number and a counter of its own.
WRK_REQUEST = """
local counter = 0
local threads = 0
function setup(thread)
  threads = threads + 1
  thread:set("tid", threads)
end
function request()
  counter = counter + 1
  -- wrk.format takes the headers it is given instead of wrk.headers: copy them first.
  local headers = {}
  for name, value in pairs(wrk.headers) do headers[name] = value end
  headers["Idempotency-Key"] = "bench-" .. tid .. "-" .. counter
  return wrk.format(nil, nil, headers)
end
"""


def _post(url: str, body: dict, headers: dict[str, str] | None = None) -> tuple[int, dict]:
    request = urllib.request.Request(  # noqa: S310 - loopback
        url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json", **(headers or {})}
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:  # noqa: S310 - loopback
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}")


def _three_lines(url: str) -> list[dict]:
    """Three orderable items of the demo menu, each with the first option of every group that needs one."""
    with urllib.request.urlopen(url + "/api/v1/menu/", timeout=10) as answer:  # noqa: S310 - loopback
        menu = json.loads(answer.read())
    items = [item for category in menu["categories"] for item in category["items"] if item["is_available"]]
    with_choices = [item for item in items if any(g["min_choices"] for g in item["modifier_groups"])]
    chosen = [*with_choices[:1], *[item for item in items if item not in with_choices][:2]]
    return [
        {
            "item": item["id"],
            "quantity": 1,
            "options": [g["options"][0]["id"] for g in item["modifier_groups"] if g["min_choices"]],
        }
        for item in chosen
    ]


def _orders_in_database(env: dict[str, str]) -> int:
    out = subprocess.run(
        [PYTHON, "manage.py", "shell", "-c", "from orders.models import Order; print(Order.objects.count())"],
        cwd=ROOT, env=env, capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    return int(out.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--seconds", type=int, default=10, help="length of each measured run")
    parser.add_argument("--rounds", type=int, default=2, help="bare / orders runs, alternated")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn sync workers")
    parser.add_argument("--database", default="brigade_bench_api", help="dropped and made again")
    parser.add_argument("--redis-db", type=int, default=11, help="flushed")
    options = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("needs wrk: apt-get install wrk")

    var_dir = Path(tempfile.mkdtemp(prefix="brigade-bench-api-"))
    lifted = "1000000000/m/ip"
    env = bench_env(
        database=options.database,
        redis_db=options.redis_db,
        var_dir=var_dir,
        settings_module="bench.api_settings",
        RATE_LIMIT_CHECKOUT=lifted,
        RATE_LIMIT_PAYMENT=lifted,
        BRIGADE_MAX_UNPAID_ORDERS_PER_GUEST="0",
        SIGN_IN_RATE_PER_IP="1000/m",
    )
    print(f"preparing {options.database} and Redis db {options.redis_db}…", flush=True)
    commands = [
        ["migrate", "--noinput"],
        ["seed_demo"],
        ["seed_demo_stations"],
        ["seed_demo_pacing", "--orders-per-slot", "10000", "--hard-cap", "10000"],
    ]
    prepare(env, database=options.database, redis_db=options.redis_db, commands=commands)
    os.environ.update(env)
    import django

    django.setup()
    stock_for_the_rush()
    script = var_dir / "bench.lua"
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = (var_dir / "gunicorn.log").open("wb")
    gunicorn = subprocess.Popen(
        gunicorn_command(port, workers=options.workers),
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        wait_healthy(url, gunicorn, "gunicorn")
        status, tokens = _post(
            url + "/api/v1/auth/token/", {"email": "customer@brigade.example", "password": "brigade-customer"}
        )
        if status != 200:
            raise SystemExit(f"could not sign in: {status} {tokens}")
        # The access token lives 5 minutes; the benchmark's runs are shorter than that.
        bearer = {"Authorization": f"Bearer {tokens['access']}"}
        body = {
            "order_type": "pickup",
            "contact_name": "Bench Customer",
            "contact_email": "customer@brigade.example",
            "lines": _three_lines(url),
        }
        script.write_text(
            f"wrk.method = 'POST'\nwrk.body = {json.dumps(json.dumps(body))}\n"
            f"wrk.headers['Content-Type'] = 'application/json'\n{WRK_REQUEST}{WRK_REPORT}"
        )
        first, answer = _post(url + "/api/v1/orders/", body, {**bearer, "Idempotency-Key": "bench-check"})
        if first != 201:
            raise SystemExit(f"an order was not placed: {first} {answer}")
        print(f"an order of 3 lines: {answer['order']['total_minor']} minor units; body {body}", flush=True)
        runs: dict[str, list[dict]] = {"bare": [], "orders": []}
        targets = {"bare": (url + "/bench/bare-api/", {}), "orders": (url + "/api/v1/orders/", bearer)}
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

    placed = _orders_in_database(env)
    print()
    print(
        f"Command: bench/api.py --connections {options.connections} --seconds {options.seconds} "
        f"--rounds {options.rounds} --workers {options.workers}"
    )
    print(f"Machine: {platform.node()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    print(f"Date: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC")
    print()
    print("| run | requests/s | p50 | p95 | p99 | socket errors / bad status | share of bare |")
    print("|---|---|---|---|---|---|---|")
    for index in range(options.rounds):
        floor = runs["bare"][index]["rps"]
        print(_row(f"bare DRF view, round {index + 1}", runs["bare"][index], None))
        print(
            _row(
                f"`POST /api/v1/orders/` (3 lines, new key), round {index + 1}", runs["orders"][index], floor
            )
        )
    print()
    print(f"orders in the database: {placed} (the check order, the warm-ups' and the measured runs')")
    print(f"logs: {var_dir}")


if __name__ == "__main__":
    main()
