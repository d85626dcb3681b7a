"""Live fan-out in a lunch rush: kitchen boards and order trackers on real websockets.

    make bench                                                 # 50 boards, 1,000 trackers, 10 payments/s
    .venv/bin/python bench/live_fanout.py --daphnes 1          # all sockets on one daphne
    .venv/bin/python bench/live_fanout.py --layer core --rate 5 --trackers 300
    .venv/bin/python bench/live_fanout.py --ping               # every socket pings as pages do

What runs, as in production on one machine: PostgreSQL and Redis (this
machine's, at 127.0.0.1); gunicorn (2 workers) for HTTP, where the payment
webhooks land; two daphne processes for the sockets (one per core; clients
are spread over them as a load balancer would); one Celery worker (2
processes) for emails and retries. The database `brigade_bench` is dropped
and made again, and Redis database 5 is flushed.

First the floor: the same sockets on bare daphne and the same channel layer
(bench/floor_asgi.py), sent frames of the same size at the same rate; then
the application. Both are reported, and the application's p99 as a ratio
of the floor's.

What is measured: each tracker follows one order awaiting payment; every
board follows the kitchen. Orders are paid at a steady rate by the sandbox
provider's signed webhook, posted over HTTP to gunicorn. For every frame a
client receives about a payment, the latency is the time it arrived minus the
time of the provider's event row, the paying transaction's last write just
before its commit (so the figure includes the commit, and slightly
overstates the true commit-to-frame time): the app's counterpart of the
floor's send. The same latencies from the paid audit row, which that
transaction writes first and which was this benchmark's clock while it was
the last write (before the tickets were made in the paying transaction),
are reported too (`*_from_paid_row`), and the stage between the two.
A tracker must get exactly one "paid" frame; a board exactly one frame
bringing each order's tickets, with contiguous sequence numbers. Anything
missing is lost; anything twice is duplicated.

The load generator shares the machine's cores with everything it measures.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import itertools
import json
import os
import platform
import random
import sys
import tempfile
import time
from collections import Counter, defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import requests
from websockets.asyncio.client import connect

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import (
    PYTHON,
    ROOT,
    WORKER_COMMAND,
    bench_env,
    free_port,
    gunicorn_command,
    latency_summary,
    launch,
    prepare,
    stock_for_the_rush,
    stop_all,
    wait_healthy,
)

DATABASE = "brigade_bench"
REDIS_DB = 5
DEMO = [["migrate", "--noinput"], ["seed_demo"], ["seed_demo_stations"], ["collectstatic", "--noinput"]]


def _env(layer: str, var_dir: Path) -> dict[str, str]:
    return bench_env(database=DATABASE, redis_db=REDIS_DB, var_dir=var_dir, CHANNEL_LAYER_BACKEND=layer)


def _prepare(env: dict[str, str]) -> None:
    prepare(env, database=DATABASE, redis_db=REDIS_DB, commands=DEMO)


@dataclass
class Setup:
    chef_sessions: list[str]
    orders: list[tuple[int, str, str, int]]  # (order id, tracking token, payment reference, amount)


def _make_orders(count: int, boards: int) -> Setup:
    """Orders awaiting payment with a sandbox payment each, and one session per board tablet."""
    import logging

    import django

    django.setup()
    # The services log every order; the bench's own output is its summary.
    logging.disable(logging.INFO)
    from django.test import Client

    from accounts.models import User
    from accounts.roles import Actor
    from menu.models import MenuItem
    from orders.payments.services import payment_start
    from orders.pricing import CartLine
    from orders.services import OrderDetails, order_place

    stock_for_the_rush()
    chef = User.objects.get(email="chef@brigade.example")
    sessions = []
    for _ in range(boards):
        client = Client()
        client.force_login(chef, backend="django.contrib.auth.backends.ModelBackend")
        sessions.append(client.cookies["sessionid"].value)
    # Items a guest can order without choosing anything, from several stations.
    simple = list(
        MenuItem.objects.filter(is_available=True, is_listed=True)
        .exclude(item_groups__group__min_choices__gt=0)
        .exclude(is_special=True)
        .values_list("pk", flat=True)
    )
    rng = random.Random(7)
    orders = []
    for number in range(count):
        lines = [CartLine(item_id, rng.randint(1, 3)) for item_id in rng.sample(simple, rng.randint(1, 3))]
        order, _ = order_place(
            lines=lines,
            details=OrderDetails(
                order_type="pickup",
                contact_name=f"Guest {number}",
                contact_email=f"guest{number}@example.test",
            ),
            actor=Actor.guest(),
        )
        payment = payment_start(order=order, return_url="http://127.0.0.1/")
        orders.append((order.pk, order.tracking_token, payment.provider_ref, order.total_minor))
    return Setup(chef_sessions=sessions, orders=orders)


@dataclass
class Received:
    # (kind, client index) -> list of (arrival time, message)
    frames: dict[tuple[str, int], list[tuple[float, dict]]] = field(default_factory=lambda: defaultdict(list))
    connected: int = 0
    failed: int = 0


def _essentials(message: dict) -> dict:
    """What the analysis needs of a frame; whole frames would grow the generator's heap, and its GC pauses."""
    kept = {key: message[key] for key in ("type", "seq", "status", "sent") if key in message}
    if "tickets" in message and message["type"] == "board.tickets":
        kept["tickets"] = [{"order_id": t["order_id"], "status": t["status"]} for t in message["tickets"]]
    return kept


PING_EVERY_SECONDS = 10.0  # static/js/live-socket.js


PINGING = {"on": False}


async def _client(kind: str, index: int, url: str, origin: str, cookie: str | None, into: Received) -> None:
    """One socket; with --ping it pings every 10 s with the seq it holds, as the page's script does."""
    headers = {"Cookie": f"sessionid={cookie}"} if cookie else None
    held = {"seq": None}

    async def ping(socket) -> None:
        # Pages open at different moments; so do their pings.
        await asyncio.sleep(random.uniform(0, PING_EVERY_SECONDS))
        while True:
            await socket.send(json.dumps({"type": "ping", "seq": held["seq"]}))
            await asyncio.sleep(PING_EVERY_SECONDS)

    try:
        async with connect(
            url, origin=origin, additional_headers=headers, open_timeout=30, max_queue=None
        ) as socket:
            into.connected += 1
            frames = into.frames[(kind, index)]
            pinger = asyncio.create_task(ping(socket) if PINGING["on"] else asyncio.sleep(0))
            try:
                async for raw in socket:
                    at = time.time()
                    message = json.loads(raw)
                    if "seq" in message and message.get("type") != "pong":
                        held["seq"] = message["seq"]
                    frames.append((at, _essentials(message)))
            finally:
                pinger.cancel()
    except Exception:  # noqa: BLE001 - counted: a client that cannot connect is a failure of the run
        into.failed += 1


async def _pay_steadily(orders: list[tuple[int, str, str, int]], rate: float, http_url: str) -> float:
    """Posts one signed payment webhook every 1/rate seconds; returns the achieved rate."""
    from orders.payments.base import PAYMENT_SUCCEEDED
    from orders.payments.sandbox import SIGNATURE_HEADER, sandbox_event_body, sandbox_sign

    loop = asyncio.get_running_loop()
    http = requests.Session()
    pool = ThreadPoolExecutor(max_workers=16)

    def post(reference: str, amount: int) -> None:
        body = sandbox_event_body(reference=reference, event_type=PAYMENT_SUCCEEDED, amount_minor=amount)
        answer = http.post(
            f"{http_url}/webhooks/payments/sandbox/",
            data=body,
            headers={"Content-Type": "application/json", SIGNATURE_HEADER: sandbox_sign(body)},
            timeout=30,
        )
        if answer.status_code != 200:
            print(f"webhook answered {answer.status_code}: {answer.text[:200]}", file=sys.stderr)

    start = time.monotonic()
    pending = []
    for position, (_, _, reference, amount) in enumerate(orders):
        # Scheduled from the start, so a slow answer never slows the rate.
        delay = start + position / rate - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        pending.append(loop.run_in_executor(pool, post, reference, amount))
    await asyncio.gather(*pending)
    return len(orders) / (time.monotonic() - start)


def _analyse(received: Received, orders: list[tuple[int, str, str, int]], boards: int) -> dict:
    import django

    django.setup()
    from orders.models import OrderEvent
    from orders.payments.base import PAYMENT_SUCCEEDED
    from orders.payments.models import PaymentWebhookEvent

    paid_row_at = {
        order_id: created.timestamp()
        for order_id, created in OrderEvent.objects.filter(to_status="paid").values_list(
            "order_id", "created_at"
        )
    }
    paid_at = {
        order_id: at.timestamp()
        for order_id, at in PaymentWebhookEvent.objects.filter(
            event_type=PAYMENT_SUCCEEDED, payment__isnull=False
        ).values_list("payment__order_id", "received_at")
    }
    # (order id, arrival time) of every first frame: a tracker's "paid", a board's first sight of the tickets.
    arrivals: dict[str, list[tuple[int, float]]] = {"tracker": [], "board": []}
    lost = Counter()
    duplicated = Counter()
    gaps = 0
    for index, (order_id, _, _, _) in enumerate(orders):
        paid_frames = [
            (at, m)
            for at, m in received.frames[("tracker", index)]
            if m.get("type") == "order.status" and m["status"] == "paid"
        ]
        if not paid_frames:
            lost["tracker"] += 1
            continue
        duplicated["tracker"] += len(paid_frames) - 1
        arrivals["tracker"].append((order_id, paid_frames[0][0]))
    expected_orders = set(paid_at)
    for index in range(boards):
        frames = [(at, m) for at, m in received.frames[("board", index)] if m.get("type") == "board.tickets"]
        seqs = [m["seq"] for _, m in frames]
        duplicated["board"] += len(seqs) - len(set(seqs))
        ordered = sorted(set(seqs))
        gaps += sum(b - a - 1 for a, b in itertools.pairwise(ordered))
        first_seen: dict[int, float] = {}
        for at, message in frames:
            for ticket in message["tickets"]:
                if ticket["status"] == "new":
                    first_seen.setdefault(ticket["order_id"], at)
        lost["board"] += len(expected_orders - set(first_seen))
        arrivals["board"].extend(first_seen.items())

    def since(clock: dict[int, float], kind: str) -> list[float]:
        return [at - clock[order_id] for order_id, at in arrivals[kind]]

    per_order: dict[int, list[float]] = defaultdict(list)
    for order_id, at in arrivals["board"]:
        per_order[order_id].append(at - paid_at[order_id])
    # Where a board frame's time goes: paid -> tickets made -> board event published -> boards.
    from kitchen.models import Ticket
    from orders.models import OutboxEvent

    made = {o: c.timestamp() for o, c in Ticket.objects.values_list("order_id", "created_at")}
    board_events = OutboxEvent.objects.filter(topic="kitchen.tickets")
    published = {o: p.timestamp() for o, p in board_events.values_list("order_id", "published_at")}
    both = [o for o in paid_row_at if o in made and o in published]
    stages = {
        # The paying transaction from its first write (the paid audit row) to its last.
        "paid_row_to_last_write": [paid_at[o] - paid_row_at[o] for o in paid_at if o in paid_row_at],
        "paid_row_to_tickets_made": [made[o] - paid_row_at[o] for o in both],
        "tickets_made_to_published": [published[o] - made[o] for o in both],
        # The first board to get an order's tickets, and how long the last one waited after it.
        "first_board_frame": [min(values) for values in per_order.values()],
        "spread_across_boards": [max(values) - min(values) for values in per_order.values()],
    }

    return {
        "paid_orders": len(paid_at),
        "all": latency_summary(since(paid_at, "tracker") + since(paid_at, "board")),
        "trackers": latency_summary(since(paid_at, "tracker")),
        "boards": latency_summary(since(paid_at, "board")),
        "trackers_from_paid_row": latency_summary(since(paid_row_at, "tracker")),
        "boards_from_paid_row": latency_summary(since(paid_row_at, "board")),
        "lost": dict(lost),
        "duplicated": dict(duplicated),
        "board_seq_gaps": gaps,
        "stages": {name: latency_summary(values) for name, values in stages.items()},
    }


def _daphnes(count: int, application: str, env: dict[str, str], var_dir: Path) -> tuple[list, list[str]]:
    ports = [free_port() for _ in range(count)]
    processes = [
        launch(
            [PYTHON, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port), application],
            env,
            var_dir / "daphne.log",
        )
        for port in ports
    ]
    for port, process in zip(ports, processes, strict=True):
        wait_healthy(f"http://127.0.0.1:{port}", process, "daphne")
    return processes, [f"ws://127.0.0.1:{port}" for port in ports]


async def _open_sockets(
    specs: list[tuple[str, int, str, str | None]], ws_urls: list[str], into: Received
) -> list:
    """Opens the sockets 50 at a time, spread over the daphne instances in turn as a load balancer would."""
    clients = []
    for start in range(0, len(specs), 50):
        for position, (kind, index, path, cookie) in enumerate(specs[start : start + 50], start=start):
            base = ws_urls[position % len(ws_urls)]
            origin = base.replace("ws://", "http://")
            clients.append(asyncio.create_task(_client(kind, index, base + path, origin, cookie, into)))
        await asyncio.sleep(0.25)
    while into.connected + into.failed < len(specs):
        await asyncio.sleep(0.2)
    return clients


async def _close_sockets(clients: list) -> None:
    for client in clients:
        client.cancel()
    await asyncio.gather(*clients, return_exceptions=True)


def _floor_board_tickets(rng: random.Random, order_id: int) -> list[dict]:
    """Tickets shaped and sized like the app's (kitchen.events.TicketState), two stations."""
    now = datetime.now(UTC).isoformat()
    return [
        {
            "id": order_id * 2 + station, "version": 1, "status": "new", "station": slug,
            "station_name": slug.title(), "order_id": order_id, "order_number": f"A-{order_id:04d}",
            "order_status": "paid", "order_type": "pickup", "where": "Pickup", "instructions": "",
            "lines": [
                {"name": "Classic Burger", "quantity": rng.randint(1, 3), "modifiers": "Medium"}
                for _ in range(rng.randint(1, 2))
            ],
            "created_at": now, "started_at": None, "bumped_at": None,
        }
        for station, slug in enumerate(("grill", "fryer"))
    ]  # fmt: skip


def _floor(options: argparse.Namespace, env: dict[str, str], var_dir: Path) -> dict:
    """The same sockets and the same rate of frames through bare daphne and the channel layer."""
    processes, ws_urls = _daphnes(options.daphnes, "bench.floor_asgi:application", env, var_dir)
    received = Received()
    rng = random.Random(7)

    async def run() -> None:
        from channels.layers import get_channel_layer

        layer = get_channel_layer()
        specs = [("board", i, "/ws/floor/board/", None) for i in range(options.boards)]
        specs += [("tracker", i, f"/ws/floor/order-{i}/", None) for i in range(options.trackers)]
        clients = await _open_sockets(specs, ws_urls, received)
        print(f"floor: {received.connected} sockets open ({received.failed} failed); sending…", flush=True)
        start = time.monotonic()
        for number in range(options.trackers):
            delay = start + number / options.rate - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            # As the app sends them: the order's tracker first, then every board.
            status = {
                "type": "order.status",
                "seq": 2,
                "status": "paid",
                "status_label": "Paid",
                "sent": time.time(),
            }
            await layer.group_send(f"order-{number}", {"type": "live.event", "message": status})
            tickets = {
                "type": "board.tickets",
                "seq": number + 1,
                "tickets": _floor_board_tickets(rng, number),
                "sent": time.time(),
            }
            await layer.group_send("board", {"type": "live.event", "message": tickets})
        await asyncio.sleep(options.settle)
        await _close_sockets(clients)

    try:
        gc.collect()
        gc.disable()
        asyncio.run(run())
        gc.enable()
    finally:
        stop_all(processes)
    latencies: dict[str, list[float]] = {"tracker": [], "board": []}
    lost = Counter()
    for (kind, _), frames in received.frames.items():
        sent = [at - m["sent"] for at, m in frames if "sent" in m]
        latencies[kind].extend(sent)
        lost[kind] += (options.trackers if kind == "board" else 1) - len(sent)
    return {
        "trackers": latency_summary(latencies["tracker"]),
        "boards": latency_summary(latencies["board"]),
        "lost": dict(lost),
        "sockets_failed": received.failed,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--boards", type=int, default=50)
    parser.add_argument("--trackers", type=int, default=1000, help="also the number of orders paid")
    parser.add_argument("--rate", type=float, default=10.0, help="payments per second")
    parser.add_argument("--layer", choices=("pubsub", "core"), default="pubsub")
    parser.add_argument("--daphnes", type=int, default=2, help="daphne instances sharing the sockets")
    parser.add_argument("--settle", type=float, default=10.0, help="seconds to wait for late frames")
    parser.add_argument("--no-floor", action="store_true", help="skip the bare-daphne floor")
    parser.add_argument("--ping", action="store_true", help="every socket pings every 10 s, as pages do")
    options = parser.parse_args()
    PINGING["on"] = options.ping

    var_dir = Path(tempfile.mkdtemp(prefix="brigade-bench-"))
    env = _env(options.layer, var_dir)
    print(f"preparing {DATABASE} and Redis db {REDIS_DB}…", flush=True)
    _prepare(env)
    os.environ.update({k: v for k, v in env.items() if k not in os.environ or os.environ[k] != v})
    sys.path.insert(0, str(ROOT))
    setup = _make_orders(options.trackers, options.boards)
    floor = None if options.no_floor else _floor(options, env, var_dir)

    http_port = free_port()
    processes = [
        launch(gunicorn_command(http_port), env, var_dir / "gunicorn.log"),
        launch(WORKER_COMMAND, env, var_dir / "worker.log"),
    ]  # fmt: skip
    http_url = f"http://127.0.0.1:{http_port}"
    try:
        daphnes, ws_urls = _daphnes(options.daphnes, "restaurant.asgi:application", env, var_dir)
        processes += daphnes
        wait_healthy(http_url, processes[0], "gunicorn")
        time.sleep(3)  # the worker's start-up
        received = Received()

        async def run() -> float:
            specs = [("board", i, "/ws/kitchen/", cookie) for i, cookie in enumerate(setup.chef_sessions)]
            specs += [
                ("tracker", i, f"/ws/orders/{token}/", None)
                for i, (_, token, _, _) in enumerate(setup.orders)
            ]
            clients = await _open_sockets(specs, ws_urls, received)
            print(f"{received.connected} sockets open ({received.failed} failed); paying…", flush=True)
            achieved = await _pay_steadily(setup.orders, options.rate, http_url)
            await asyncio.sleep(options.settle)
            await _close_sockets(clients)
            return achieved

        started = time.monotonic()
        # The generator keeps only acyclic data, freed by reference counting: the cycle
        # collector would only add its pauses to the latencies it measures.
        gc.collect()
        gc.disable()
        achieved = asyncio.run(run())
        gc.enable()
        duration = time.monotonic() - started
        results = _analyse(received, setup.orders, options.boards)
    finally:
        stop_all(processes)
    if floor is not None:
        results["floor"] = floor
        results["ratio_to_floor_p99"] = {
            f"{kind}{clock}": round(results[f"{kind}{clock}"]["p99_ms"] / floor[kind]["p99_ms"], 2)
            for kind in ("trackers", "boards")
            for clock in ("", "_from_paid_row")
            if results[kind].get("frames") and floor[kind].get("frames")
        }
    results |= {
        "command": " ".join(["bench/live_fanout.py", *sys.argv[1:]]),
        "layer": options.layer,
        "daphnes": options.daphnes,
        "board_sockets": options.boards,
        "tracker_sockets": options.trackers,
        "sockets_failed": received.failed,
        "pinging": options.ping,
        "rate_asked": options.rate,
        "rate_achieved": round(achieved, 2),
        "frames_per_second": round(results["all"]["frames"] / duration, 1),
        "machine": f"{platform.node()} · {os.cpu_count()} cores · Python {platform.python_version()}",
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "logs": str(var_dir),
    }
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
