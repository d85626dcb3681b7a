"""A restarted Redis heals by itself: a board that missed a ticket while Redis was away gets it on its
next ping, and live events reach it again without a new connection (the socket re-joined its group)."""

from __future__ import annotations

import json
import re
import time
from contextlib import ExitStack
from pathlib import Path

import pytest
import requests
from django.test import Client
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidMessage
from websockets.sync.client import ClientConnection, connect

from kitchen.models import Ticket
from kitchen.services import tickets_create_for_order
from tests.harness import daphne as daphne_harness
from tests.harness.processes import free_port
from tests.harness.redis_server import start_redis
from tests.kitchen.conftest import pay, place
from tests.requirements import has_redis_server_program, need

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.django_db(transaction=True)]

daphne_instance = daphne_harness.daphne_instance


def _next(board: ClientConnection, wanted: str) -> dict:
    while True:
        message = json.loads(board.recv(timeout=15))
        if message["type"] == wanted:
            return message


@pytest.mark.parametrize("backend", ["pubsub", "core"])
def test_a_board_heals_after_redis_restarts(
    kitchen, small_menu, actors, daphne_instance, processes, tmp_path: Path, backend
):
    need(has_redis_server_program(), "needs the redis-server program")
    # Given a web instance whose channel layer lives on a Redis of this test's own
    redis_port = free_port()
    redis_dir = tmp_path / "redis"
    redis_dir.mkdir()
    own_redis = start_redis(redis_port, redis_dir, processes)
    redis_url = f"redis://127.0.0.1:{redis_port}/0"
    web = daphne_instance(
        env={"REDIS_URL": redis_url, "CELERY_BROKER_URL": redis_url, "CHANNEL_LAYER_BACKEND": backend}
    )
    session = Client()
    session.force_login(actors.chef, backend="django.contrib.auth.backends.ModelBackend")
    cookie = session.cookies["sessionid"].value

    sockets = ExitStack()

    def open_board() -> tuple[ClientConnection, dict]:
        board = sockets.enter_context(
            connect(
                f"{web.ws_url}/ws/kitchen/",
                origin=web.url,
                additional_headers={"Cookie": f"sessionid={cookie}"},
                open_timeout=10,
            )
        )
        return board, _next(board, "board.snapshot")

    def reopen_board() -> tuple[ClientConnection, dict]:
        # As the page does: try again with growing delays while the instance's Redis pool recovers.
        for attempt in range(6):
            try:
                return open_board()
            except (OSError, InvalidHandshake, InvalidMessage, TimeoutError):
                time.sleep(0.25 * 2**attempt)
        raise AssertionError("the board could not reconnect after Redis returned\n" + web.log())

    with sockets:
        board, snapshot = open_board()

        # When Redis goes away, and a ticket's broadcast is lost meanwhile
        own_redis.kill()
        own_redis.wait(timeout=10)
        order = pay(place(small_menu))
        tickets_create_for_order(order_id=order.pk)  # broadcast elsewhere: this board never hears it
        ticket = Ticket.objects.get(order=order)
        start_redis(redis_port, redis_dir, processes)

        # Then the board's next ping brings the ticket (a dropped socket reconnects first, as pages do)
        try:
            board.send(json.dumps({"type": "ping", "seq": snapshot["seq"]}))
            healed = _next(board, "board.snapshot")
        except ConnectionClosed:
            board, healed = reopen_board()
        assert healed["seq"] == snapshot["seq"] + 1, web.log()
        assert [t["id"] for t in healed["tickets"]] == [ticket.pk]

        # And a chef's tap on this instance reaches the board live again, on the same socket
        board.send(json.dumps({"type": "ping", "seq": healed["seq"]}))
        assert _next(board, "pong")["seq"] == healed["seq"]
        http = requests.Session()
        http.cookies.set("sessionid", cookie)
        page = http.get(f"{web.url}/kitchen/", timeout=10)
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
        answer = http.post(
            f"{web.url}/kitchen/tickets/{ticket.pk}/move/",
            data={"move": "start", "version": ticket.version, "csrfmiddlewaretoken": token},
            headers={"Accept": "application/json"},
            timeout=10,
        )
        assert answer.status_code == 200, answer.text
        event = _next(board, "board.tickets")

        assert event["seq"] == healed["seq"] + 1, web.log()
        assert event["tickets"][0]["status"] == "cooking"
