"""What one order through the pages costs the web process: CPU time and queries per step.

    .venv/bin/python bench/rush_cpu.py                 # 60 orders, one after another
    .venv/bin/python bench/rush_cpu.py --orders 100 --profile checkout_post
    .venv/bin/python bench/rush_cpu.py --show checkout_post webhook

The same steps as bench/rush.py (menu, three item pages and their "add",
cart, checkout page and form, the sandbox payment page and its approval,
the order page) and the provider's signed webhook that pays the order,
each a new visitor, but sent through Django's test client
in this process, one at a time, with the production settings on this
machine's PostgreSQL and Redis (database `brigade_bench_cpu`, dropped and
made again; Redis database 6, flushed). Each step's figure is the median of
the process's own CPU time (time.process_time), which another program on
the machine slows far less than it slows a clock: the budget a rush must fit
into the cores, not a latency. The first quarter of the orders is not
counted (caches, connections). `--profile STEP…` prints the hottest
functions of those steps; `--show STEP…` the SQL statements and Redis
commands of the counted request of each that asked the most.

The PostgreSQL line is the CPU every PostgreSQL process on the machine
spent over the counted orders, per order (the machine's clock ticks, so
only a run's total is worth reading): the database's side of the same
statements.

A median leaves out the rare request that a garbage collection of the
older generations lands in, so the run also prints the mean CPU an order
(every counted request, those included) and the collector's own share.
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import io
import os
import pstats
import random
import re
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import PYTHON, bench_env, prepare, run, stock_for_the_rush
from bench.live_fanout import DEMO
from bench.rush import CHECKOUT_TOKEN, CSRF, ITEM_ID, SANDBOX

DATABASE = "brigade_bench_cpu"
REDIS_DB = 6
WEBHOOK = "/webhooks/payments/sandbox/"


def _address(number: int) -> str:
    return f"10.{number // 65536 % 256}.{number // 256 % 256}.{number % 256}"


class RedisCalls:
    """Round trips to Redis (the cache, the sessions, the limits, the breaker) while counted."""

    def __init__(self) -> None:
        import redis.client

        # This step's commands: emptied before each step, counted after it.
        self.commands: list[str] = []
        send = redis.client.Redis.execute_command

        def counted(client, *args, **kwargs):
            self.commands.append(" ".join(str(part)[:60] for part in args[:2]))
            return send(client, *args, **kwargs)

        redis.client.Redis.execute_command = counted  # type: ignore[method-assign]


def postgres_cpu() -> float:
    """CPU seconds of every PostgreSQL process on this machine so far (its backends, their children)."""
    total = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue
        name, _, rest = text.partition(") ")
        if name.endswith("(postgres"):
            fields = rest.split()
            total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


class Collector:
    """The garbage collector's runs and CPU time while counted requests were served."""

    def __init__(self) -> None:
        self.counting = False
        self.runs = [0, 0, 0]
        self.seconds = 0.0
        self._started = 0.0
        gc.callbacks.append(self._callback)

    def _callback(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._started = time.process_time()
        elif self.counting:
            self.runs[info["generation"]] += 1
            self.seconds += time.process_time() - self._started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--orders", type=int, default=60)
    parser.add_argument("--profile", nargs="*", default=[], metavar="STEP")
    parser.add_argument(
        "--show",
        nargs="*",
        default=[],
        metavar="STEP",
        help="print the SQL and Redis commands of one such request",
    )
    options = parser.parse_args()

    env = bench_env(
        database=DATABASE,
        redis_db=REDIS_DB,
        var_dir=Path(tempfile.mkdtemp(prefix="brigade-rush-cpu-")),
        TRUSTED_PROXY_COUNT="1",
        # The sandbox's own delivery finds nothing there; the run posts each event itself.
        SANDBOX_WEBHOOK_URL="http://127.0.0.1:9/",
    )
    print(f"preparing {DATABASE}…", flush=True)
    prepare(env, database=DATABASE, redis_db=REDIS_DB, commands=DEMO)
    # As bench/rush.py: these orders are never cooked, so the kitchen is opened wide.
    run([PYTHON, "manage.py", "seed_demo_pacing", "--orders-per-slot", "10000", "--hard-cap", "10000"], env)
    os.environ.update(env)

    import logging

    import django

    django.setup()
    logging.disable(logging.INFO)
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from bench.rush import _simple_items
    from orders.payments.base import PAYMENT_SUCCEEDED
    from orders.payments.models import Payment
    from orders.payments.sandbox import SIGNATURE_HEADER, sandbox_event_body, sandbox_sign

    def amount(reference: str) -> int:
        return Payment.objects.get(provider="sandbox", provider_ref=reference).amount_minor

    slugs = _simple_items()
    stock_for_the_rush()
    cpu: dict[str, list[float]] = defaultdict(list)
    queries: dict[str, list[int]] = defaultdict(list)
    profiles: dict[str, cProfile.Profile] = defaultdict(cProfile.Profile)
    counted_from = options.orders // 4
    collector = Collector()
    redis_calls = RedisCalls()
    round_trips: dict[str, list[int]] = defaultdict(list)
    shown: dict[str, tuple[list[str], list[str]]] = {}
    # One client for all: Django builds its middleware once per handler, as a server process does.
    client = Client(enforce_csrf_checks=True, HTTP_HOST="127.0.0.1")

    def step(name: str, number: int, send, expected: int):
        profiling = name in options.profile and number >= counted_from
        collector.counting = number >= counted_from
        del redis_calls.commands[:]
        with CaptureQueriesContext(connection) as captured:
            started = time.process_time()
            if profiling:
                profiles[name].enable()
            answer = send()
            if profiling:
                profiles[name].disable()
            took = time.process_time() - started
        if answer.status_code != expected:
            raise SystemExit(f"{name}: {answer.status_code} {answer.content[:300]!r}")
        if number >= counted_from:
            cpu[name].append(took)
            queries[name].append(len(captured))
            round_trips[name].append(len(redis_calls.commands))
            if name in options.show and len(captured) >= len(shown.get(name, ((), ()))[0]):
                shown[name] = (
                    [query["sql"] for query in captured.captured_queries],
                    list(redis_calls.commands),
                )
        return answer

    def field(pattern: re.Pattern[str], answer) -> str:
        found = pattern.search(answer.content.decode())
        if found is None:
            raise SystemExit(f"not found: {pattern.pattern}")
        return found.group(1)

    rng = random.Random(1)
    postgres_from = 0.0
    for number in range(options.orders):
        if number == counted_from:
            postgres_from = postgres_cpu()
        client.cookies.clear()
        # The visitor's own address, as the proxy in front reports it.
        client.defaults["HTTP_X_FORWARDED_FOR"] = _address(number)
        step("menu", number, lambda: client.get("/menu/"), 200)
        for slug in rng.sample(slugs, 3):
            page = step("item", number, lambda slug=slug: client.get(f"/menu/{slug}/"), 200)
            data = {"csrfmiddlewaretoken": field(CSRF, page), "item": field(ITEM_ID, page), "quantity": 1}
            step("cart_add", number, lambda data=data: client.post("/cart/add/", data), 302)
        step("cart", number, lambda: client.get("/cart/"), 200)
        page = step("checkout", number, lambda: client.get("/checkout/"), 200)
        form = {
            "csrfmiddlewaretoken": field(CSRF, page),
            "checkout_token": field(CHECKOUT_TOKEN, page),
            "order_type": "pickup",
            "contact_name": f"Guest {number}",
            "contact_email": f"guest{number}@example.test",
        }
        placed = step("checkout_post", number, lambda form=form: client.post("/checkout/", form), 302)
        reference = SANDBOX.search(placed["Location"])
        if reference is None:
            raise SystemExit(f"checkout_post: not sent to pay ({placed['Location']})")
        pay_url = f"/sandbox/pay/{reference.group(1)}/"
        page = step("sandbox", number, lambda pay_url=pay_url: client.get(pay_url), 200)
        approval = {"csrfmiddlewaretoken": field(CSRF, page), "outcome": "approve"}
        approve = lambda pay_url=pay_url, approval=approval: client.post(pay_url, approval)  # noqa: E731
        approved = step("sandbox_post", number, approve, 302)
        # What the sandbox's own thread would post to a server (here it finds none): the
        # provider's signed event, whose paying transaction the web process runs too.
        event = sandbox_event_body(
            reference=reference.group(1),
            event_type=PAYMENT_SUCCEEDED,
            amount_minor=amount(reference.group(1)),
        )
        signature = {"headers": {SIGNATURE_HEADER: sandbox_sign(event)}}
        deliver = lambda event=event, signature=signature: client.post(  # noqa: E731
            WEBHOOK, event, content_type="application/json", **signature
        )
        step("webhook", number, deliver, 200)
        step("order", number, lambda approved=approved: client.get(approved["Location"]), 200)

    postgres = (postgres_cpu() - postgres_from) * 1000
    counted = options.orders - counted_from
    print(f"\n{counted} orders counted · median CPU of the web process per step\n")
    print(f"{'step':<14} {'per request':>12} {'queries':>8} {'redis':>6} {'per order':>10}")
    total = 0.0
    for name, values in cpu.items():
        median = statistics.median(values) * 1000
        per_order = median * len(values) / counted
        total += per_order
        print(
            f"{name:<14} {median:>9.1f} ms {statistics.median(queries[name]):>8.0f}"
            f" {statistics.median(round_trips[name]):>6.0f} {per_order:>7.1f} ms"
        )
    print(f"{'an order':<14} {'':>12} {'':>8} {'':>6} {total:>7.1f} ms")
    mean = sum(sum(values) for values in cpu.values()) * 1000 / counted
    print(f"{'mean an order':<14} {'':>12} {'':>8} {'':>6} {mean:>7.1f} ms  (every counted request)")
    label = "PostgreSQL"
    print(f"{label:<14} {'':>12} {'':>8} {'':>6} {postgres / counted:>7.1f} ms  (its processes, an order)")
    print(
        f"the collector: {collector.seconds * 1000 / counted:.1f} ms an order, "
        + ", ".join(f"generation {g}: {n / counted:.2f}" for g, n in enumerate(collector.runs))
        + " collections an order"
    )
    for name, (sql, commands) in shown.items():
        print(f"\n---- {name}: {len(sql)} queries, {len(commands)} Redis commands")
        for statement in sql:
            print(f"  sql   {statement[:200]}")
        for command in commands:
            print(f"  redis {command}")
    for name in options.profile:
        text = io.StringIO()
        pstats.Stats(profiles[name], stream=text).sort_stats("cumulative").print_stats(40)
        print(f"\n---- {name}\n{text.getvalue()}")


if __name__ == "__main__":
    main()
