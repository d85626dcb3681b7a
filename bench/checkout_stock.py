"""Checkout with stock reservation against checkout without it, in the same run, through the real pages.

    make bench-stock                                            # 20 customers for 60 s
    .venv/bin/python bench/checkout_stock.py --customers 30 --seconds 90 --database brigade_bench

The production set-up on one machine, as bench/rush.py: gunicorn (2
workers), one Celery worker (2 processes), this machine's PostgreSQL and
Redis. The database (`--database`, default `brigade_bench`) is dropped and
made again and the Redis database (`--redis-db`, default 5) flushed. After
seeding the demo restaurant, the dishes without required choices are split
in two halves: the *stocked* half get a recipe of three ingredients (a bun,
a sauce and a garnish shared by all of them, so every stocked checkout locks
the same three rows, as a rush of burgers does), stock for the whole run,
and the *untracked* half no recipe at all. Each customer alternates: one
order of three stocked dishes, one of three untracked ones, each a new
visitor (item pages with their "add", the checkout page, its form), so both
kinds share the same moment of the same machine. Only the checkout form
(placing the order: pricing, pacing, the order rows, the reservation, the
sandbox payment) is compared; the other steps are timed for context.

The load generator (threads of one Python process) shares the machine's
cores with everything it measures.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import (
    PYTHON,
    WORKER_COMMAND,
    bench_env,
    free_port,
    gunicorn_command,
    latency_summary,
    launch,
    prepare,
    run,
    stop_all,
    wait_healthy,
)
from bench.live_fanout import DEMO
from bench.rush import CHECKOUT_TOKEN, CSRF, ITEM_ID, SANDBOX, TIMEOUT, Refused, Run, _field

STOCKED, UNTRACKED = "stocked", "untracked"


def _split_menu() -> dict[str, list[str]]:
    """Gives half the simple dishes a three-ingredient recipe and stock for the run; returns both halves."""
    import logging

    import django

    django.setup()
    logging.disable(logging.INFO)
    from accounts.roles import Actor
    from menu.models import Ingredient, MenuItem, RecipeLine, Unit
    from menu.pantry.services import stock_count

    slugs = list(
        MenuItem.objects.filter(is_available=True, is_listed=True)
        .exclude(item_groups__group__min_choices__gt=0)
        .exclude(is_special=True)
        .order_by("slug")
        .values_list("slug", flat=True)
    )
    # The demo's own recipes would make some "untracked" dishes stocked: none but the bench's.
    RecipeLine.objects.all().delete()
    stocked, untracked = slugs[::2], slugs[1::2]
    shared = [
        Ingredient.objects.update_or_create(name=name, defaults={"unit": Unit.PIECE, "par_level": 1_000_000})[
            0
        ]
        for name in ("Bench bun", "Bench sauce", "Bench garnish")
    ]
    for ingredient in shared:
        stock_count(ingredient_id=ingredient.pk, counted=1_000_000, unit="piece", actor=Actor.system("bench"))
    for item in MenuItem.objects.filter(slug__in=stocked):
        for ingredient in shared:
            RecipeLine.objects.create(item=item, ingredient=ingredient, quantity=1)
    return {STOCKED: stocked, UNTRACKED: untracked}


def _one_order(base: str, slugs: list[str], kind: str, run: Run, number: int, rng: random.Random) -> None:
    http = requests.Session()
    http.headers["X-Forwarded-For"] = f"10.{number // 65536 % 256}.{number // 256 % 256}.{number % 256}"

    def get(path: str):
        return lambda: http.get(base + path, timeout=TIMEOUT, allow_redirects=False)

    def post(path: str, data: dict):
        return lambda: http.post(base + path, data=data, timeout=TIMEOUT, allow_redirects=False)

    for slug in rng.sample(slugs, 3):
        page = run.timed(f"item:{kind}", get(f"/menu/{slug}/"), 200)
        data = {"csrfmiddlewaretoken": _field(CSRF, page), "item": _field(ITEM_ID, page), "quantity": 1}
        run.timed(f"cart_add:{kind}", post("/cart/add/", data), 302)
    page = run.timed(f"checkout:{kind}", get("/checkout/"), 200)
    form = {
        "csrfmiddlewaretoken": _field(CSRF, page),
        "checkout_token": _field(CHECKOUT_TOKEN, page),
        "order_type": "pickup",
        "contact_name": f"Guest {number}",
        "contact_email": f"guest{number}@example.test",
        "contact_phone": "",
        "table_number": "",
        "delivery_address": "",
        "special_instructions": "",
    }
    placed = run.timed(f"checkout_post:{kind}", post("/checkout/", form), 302)
    if SANDBOX.search(placed.headers.get("Location", "")) is None:
        with run.lock:
            run.errors[f"checkout_post:{kind}: not sent to pay"] += 1
        raise Refused("checkout_post")
    with run.lock:
        run.paid += 1  # placed: the payment is not the comparison


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--customers", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--warmup", type=float, default=5.0, help="seconds not counted at the start")
    parser.add_argument("--database", default="brigade_bench", help="dropped and made again")
    parser.add_argument("--redis-db", type=int, default=5, help="flushed")
    options = parser.parse_args()

    var_dir = Path(tempfile.mkdtemp(prefix="brigade-stock-"))
    env = bench_env(
        database=options.database, redis_db=options.redis_db, var_dir=var_dir, TRUSTED_PROXY_COUNT="1"
    )
    print(f"preparing {options.database}…", flush=True)
    prepare(env, database=options.database, redis_db=options.redis_db, commands=DEMO)
    run([PYTHON, "manage.py", "seed_demo_pacing", "--orders-per-slot", "10000", "--hard-cap", "10000"], env)
    os.environ.update(env)
    halves = _split_menu()

    http_port = free_port()
    processes = [
        launch(gunicorn_command(http_port), env, var_dir / "gunicorn.log"),
        launch(WORKER_COMMAND, env, var_dir / "worker.log"),
    ]  # fmt: skip
    base = f"http://127.0.0.1:{http_port}"
    try:
        wait_healthy(base, processes[0], "gunicorn")
        time.sleep(3)  # the worker's start-up
        warm, measured = Run(), Run()
        current = {"run": warm}
        stop = threading.Event()
        numbers = iter(range(10**9))
        numbers_lock = threading.Lock()

        def customer(seed: int) -> None:
            rng = random.Random(seed)
            kinds = [STOCKED, UNTRACKED] if seed % 2 else [UNTRACKED, STOCKED]
            turn = 0
            while not stop.is_set():
                with numbers_lock:
                    number = next(numbers)
                kind = kinds[turn % 2]
                turn += 1
                try:
                    _one_order(base, halves[kind], kind, current["run"], number, rng)
                except Refused:
                    time.sleep(0.1)

        print(f"{options.customers} customers checking out for {options.seconds:.0f} s…", flush=True)
        threads = [
            threading.Thread(target=customer, args=(seed,), daemon=True) for seed in range(options.customers)
        ]
        for thread in threads:
            thread.start()
        time.sleep(options.warmup)
        current["run"] = measured
        started = time.monotonic()
        time.sleep(options.seconds)
        duration = time.monotonic() - started
        current["run"] = Run()
        stop.set()
        for thread in threads:
            thread.join(timeout=TIMEOUT)
    finally:
        stop_all(processes)

    steps = {step: latency_summary(values, counted="requests") for step, values in measured.timings.items()}
    with_stock, without = (
        steps.get(f"checkout_post:{STOCKED}", {}),
        steps.get(f"checkout_post:{UNTRACKED}", {}),
    )
    ratio = {
        key: round(with_stock[key] / without[key], 2)
        for key in ("p50_ms", "p95_ms", "p99_ms")
        if with_stock.get(key) and without.get(key)
    }
    results = {
        "command": " ".join(["bench/checkout_stock.py", *sys.argv[1:]]),
        "customers": options.customers,
        "seconds": round(duration, 1),
        "orders_placed": measured.paid,
        "errors": dict(measured.errors),
        "checkout_with_reservation_over_without": ratio,
        "steps": dict(sorted(steps.items())),
        "stocked_items": halves[STOCKED],
        "untracked_items": halves[UNTRACKED],
        "machine": f"{platform.node()} · {os.cpu_count()} cores · Python {platform.python_version()}",
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "logs": str(var_dir),
    }
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
