"""A lunch rush through the real pages: N customers at once, each ordering and paying as a browser does.

    make bench-rush                                   # 20 customers for 60 s
    .venv/bin/python bench/rush.py --customers 50 --seconds 90
    .venv/bin/python bench/rush.py --web-workers 2    # gunicorn with 2 sync workers

The production set-up on one machine: gunicorn (two sync workers per core, as
gunicorn.conf.py starts it; `--web-workers`) for the pages,
one daphne for the sockets, one Celery worker (2 processes), this machine's
PostgreSQL and Redis. The database `brigade_bench` is dropped and made
again, and Redis database 5 is flushed (as bench/live_fanout.py does). The
kitchen's pacing is opened wide (the orders are never cooked, so the real
caps would soon refuse them); rate limits stay as configured, since every
customer is a new visitor from an address of its own.

Each customer is a new visitor for every order (its own cookies, and its
own address in X-Forwarded-For behind one trusted proxy, as nginx in front
would send it): the menu, three item pages with an "add" each, the cart,
the checkout page and its form, the sandbox provider's payment page and
its approval, then the order page. Every answer is timed by step; anything
but the expected status is an error. Orders/s counts orders that went
through every page, the payment approved; the provider's signed webhook then
marks them paid (counted after the run).

The load generator (threads of one Python process, each customer's requests
sent with http.client) shares the machine's two cores with everything it
measures, and reports its own share of them.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import platform
import random
import re
import sys
import tempfile
import threading
import time
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import Message
from pathlib import Path
from urllib.parse import urlencode, urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import (
    PYTHON,
    WORKER_COMMAND,
    cpu_by_group,
    free_port,
    gunicorn_command,
    latency_summary,
    launch,
    run,
    stock_for_the_rush,
    stop_all,
    wait_healthy,
)
from bench.live_fanout import _env, _prepare

CSRF = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
ITEM_ID = re.compile(r'name="item" value="(\d+)"')
CHECKOUT_TOKEN = re.compile(r'name="checkout_token" value="([0-9a-f]+)"')
SANDBOX = re.compile(r"/sandbox/pay/([^/]+)/$")
TIMEOUT = 30


class Refused(Exception):
    pass


@dataclass(frozen=True)
class Answer:
    status_code: int
    headers: Message
    text: str


class Visitor:
    """One customer's browser, as lean as http.client: its cookies, its address behind the proxy.

    requests cost this process about 2.5 ms of CPU a request here, on the
    cores the servers it measures run on; a connection of http.client's a
    fifth of that. gunicorn's sync workers close every connection after its
    answer, so each request opens its own, as requests did.
    """

    def __init__(self, base: str, address: str) -> None:
        where = urlsplit(base)
        self.host, self.port = where.hostname or "127.0.0.1", where.port or 80
        self.address = address
        self.cookies: dict[str, str] = {}

    def send(self, method: str, path: str, data: dict[str, object] | None = None) -> Answer:
        headers = {"X-Forwarded-For": self.address, "Accept": "text/html"}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{name}={value}" for name, value in self.cookies.items())
        body = None
        if data is not None:
            body = urlencode(data)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        connection = http.client.HTTPConnection(self.host, self.port, timeout=TIMEOUT)
        try:
            connection.request(method, path, body=body, headers=headers)
            response = connection.getresponse()
            text = response.read().decode()
        finally:
            connection.close()
        for cookie in response.headers.get_all("Set-Cookie") or ():
            name, _, rest = cookie.partition("=")
            value = rest.split(";", 1)[0]
            if "max-age=0" in cookie.lower():
                self.cookies.pop(name.strip(), None)
            else:
                self.cookies[name.strip()] = value
        return Answer(response.status, response.headers, text)


class Run:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.timings: dict[str, list[float]] = defaultdict(list)
        self.errors: dict[str, int] = defaultdict(int)
        self.paid = 0

    def timed(self, step: str, send, expected: int) -> Answer:
        started = time.perf_counter()
        try:
            answer = send()
        except (OSError, http.client.HTTPException):
            with self.lock:
                self.errors[f"{step}: connection"] += 1
            raise Refused(step) from None
        took = time.perf_counter() - started
        with self.lock:
            self.timings[step].append(took)
            if answer.status_code != expected:
                self.errors[f"{step}: {answer.status_code}"] += 1
        if answer.status_code != expected:
            raise Refused(step)
        return answer


def _field(pattern: re.Pattern[str], answer: Answer) -> str:
    found = pattern.search(answer.text)
    if found is None:
        raise Refused(pattern.pattern)
    return found.group(1)


def _one_order(base: str, slugs: list[str], run: Run, number: int, rng: random.Random) -> None:
    # The visitor's own address, as the proxy in front reports it.
    visitor = Visitor(base, f"10.{number // 65536 % 256}.{number // 256 % 256}.{number % 256}")

    def get(path: str):
        return lambda: visitor.send("GET", path)

    def post(path: str, data: dict):
        return lambda: visitor.send("POST", path, data)

    run.timed("menu", get("/menu/"), 200)
    for slug in rng.sample(slugs, 3):
        page = run.timed("item", get(f"/menu/{slug}/"), 200)
        data = {"csrfmiddlewaretoken": _field(CSRF, page), "item": _field(ITEM_ID, page), "quantity": 1}
        run.timed("cart_add", post("/cart/add/", data), 302)
    run.timed("cart", get("/cart/"), 200)
    page = run.timed("checkout", get("/checkout/"), 200)
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
    placed = run.timed("checkout_post", post("/checkout/", form), 302)
    found = SANDBOX.search(placed.headers.get("Location", ""))
    if found is None:
        with run.lock:
            run.errors["checkout_post: not sent to pay"] += 1
        raise Refused("checkout_post")
    reference = found.group(1)
    page = run.timed("sandbox", get(f"/sandbox/pay/{reference}/"), 200)
    data = {"csrfmiddlewaretoken": _field(CSRF, page), "outcome": "approve"}
    approved = run.timed("sandbox_post", post(f"/sandbox/pay/{reference}/", data), 302)
    run.timed("order", get(approved.headers["Location"]), 200)
    with run.lock:
        run.paid += 1


def _simple_items() -> list[str]:
    import logging

    import django

    django.setup()
    logging.disable(logging.INFO)
    from menu.models import MenuItem

    return list(
        MenuItem.objects.filter(is_available=True, is_listed=True)
        .exclude(item_groups__group__min_choices__gt=0)
        .exclude(is_special=True)
        .values_list("slug", flat=True)
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--customers", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--warmup", type=float, default=5.0, help="seconds not counted at the start")
    parser.add_argument(
        "--web-workers",
        type=int,
        default=2 * (os.cpu_count() or 1),
        help="gunicorn's sync workers (default two per core, as gunicorn.conf.py)",
    )
    options = parser.parse_args()

    var_dir = Path(tempfile.mkdtemp(prefix="brigade-rush-"))
    env = _env("pubsub", var_dir) | {"TRUSTED_PROXY_COUNT": "1"}
    print("preparing brigade_bench…", flush=True)
    _prepare(env)
    # Orders here are never cooked, so the kitchen's pacing would soon refuse them: a
    # kitchen as big as the rush, open all day, keeps the measure on the pages.
    wide = ["--orders-per-slot", "10000", "--hard-cap", "10000"]
    run([PYTHON, "manage.py", "seed_demo_pacing", *wide], env)
    os.environ.update(env)
    slugs = _simple_items()
    stock_for_the_rush()

    http_port, ws_port = free_port(), free_port()
    # The sandbox provider confirms each payment with a signed webhook to this
    # gunicorn, as a real provider would; without this it would post to the
    # default address, where nothing of this run listens, and no order would
    # ever be paid.
    env["BRIGADE_BASE_URL"] = f"http://127.0.0.1:{http_port}"
    env["SANDBOX_WEBHOOK_URL"] = f"http://127.0.0.1:{http_port}/webhooks/payments/sandbox/"
    processes = [
        launch(gunicorn_command(http_port, workers=options.web_workers), env, var_dir / "gunicorn.log"),
        launch([PYTHON, "-m", "daphne", "-b", "127.0.0.1", "-p", str(ws_port), "restaurant.asgi:application"],
               env, var_dir / "daphne.log"),
        launch(WORKER_COMMAND, env, var_dir / "worker.log"),
    ]  # fmt: skip
    base = f"http://127.0.0.1:{http_port}"
    try:
        wait_healthy(base, processes[0], "gunicorn")
        wait_healthy(f"http://127.0.0.1:{ws_port}", processes[1], "daphne")
        time.sleep(3)  # the worker's start-up
        warm, measured = Run(), Run()
        current = {"run": warm}
        stop = threading.Event()
        numbers = iter(range(10**9))
        numbers_lock = threading.Lock()

        def customer(seed: int) -> None:
            rng = random.Random(seed)
            while not stop.is_set():
                with numbers_lock:
                    number = next(numbers)
                try:
                    _one_order(base, slugs, current["run"], number, rng)
                except Refused:
                    time.sleep(0.1)

        print(f"{options.customers} customers ordering for {options.seconds:.0f} s…", flush=True)
        threads = [
            threading.Thread(target=customer, args=(seed,), daemon=True) for seed in range(options.customers)
        ]
        for thread in threads:
            thread.start()
        time.sleep(options.warmup)
        roots = {"gunicorn": processes[0].pid, "daphne": processes[1].pid, "worker": processes[2].pid}
        # The load generator started the servers, so it is counted without its children.
        generator = {"load generator": os.getpid()}
        shared = {"postgresql": "postgres", "redis": "redis-server"}
        current["run"] = measured
        cpu_before = cpu_by_group(roots, shared, generator)
        started = time.monotonic()
        time.sleep(options.seconds)
        duration = time.monotonic() - started
        cpu_after = cpu_by_group(roots, shared, generator)
        current["run"] = Run()  # what finishes after the window is not counted
        stop.set()
        for thread in threads:
            thread.join(timeout=TIMEOUT)
        time.sleep(3)  # the last webhooks land
        from orders.models import Order, OrderStatus

        unconfirmed = Order.objects.filter(status=OrderStatus.AWAITING_PAYMENT).count()
        confirmed = Order.objects.exclude(status=OrderStatus.AWAITING_PAYMENT).count()
    finally:
        stop_all(processes)

    requests_made = sum(len(v) for v in measured.timings.values())

    results = {
        "command": " ".join(["bench/rush.py", *sys.argv[1:]]),
        "customers": options.customers,
        "web_workers": options.web_workers,
        "seconds": round(duration, 1),
        "orders_paid": measured.paid,
        "orders_per_second": round(measured.paid / duration, 2),
        "requests_per_second": round(requests_made / duration, 1),
        "errors": dict(measured.errors),
        # Over the whole run (warm-up included): orders whose payment the
        # provider's webhook confirmed, and those still awaiting it.
        "orders_confirmed_by_webhook": confirmed,
        "orders_still_awaiting_payment": unconfirmed,
        # Where the cores went, per order paid in the window. PostgreSQL and
        # Redis are the machine's own and count whatever else they serve.
        "cpu_ms_per_order": {
            name: round((cpu_after[name] - cpu_before[name]) * 1000 / max(measured.paid, 1), 1)
            for name in cpu_after
        },
        "steps": {
            step: latency_summary(values, counted="requests") for step, values in measured.timings.items()
        },
        "machine": f"{platform.node()} · {os.cpu_count()} cores · Python {platform.python_version()}",
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "logs": str(var_dir),
    }
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
