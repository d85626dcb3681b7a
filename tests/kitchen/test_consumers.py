"""The board socket: who may open it, the snapshot, and ticket changes in order after commit."""

from __future__ import annotations

import pytest
from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async
from django.urls import reverse

from kitchen.models import Ticket
from kitchen.selectors import board_seq, board_snapshot
from orders.pricing import CartLine
from tests.conftest import client_for
from tests.kitchen.conftest import pay, place
from tests.menu.test_admin import _run_item_action
from tests.sockets import connected_snapshot, connects, socket_for, unreachable_channel_layer

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("eager_tasks")]

BOARD = "/ws/kitchen/"


@pytest.mark.parametrize(
    ("who", "allowed"),
    [("anonymous", False), ("customer", False), ("waiter", False), ("chef", True), ("manager", True)],
)
def test_only_chefs_and_managers_open_the_board_socket(kitchen, actors, who, allowed):
    user = None if who == "anonymous" else getattr(actors, who)

    connected, answer = connects(socket_for(BOARD, user=user))

    assert connected is allowed
    if not allowed:
        assert answer == 4403


def test_a_board_socket_from_a_foreign_origin_is_refused(kitchen, actors):
    connected, _ = connects(socket_for(BOARD, user=actors.chef, origin="https://evil.example"))

    assert connected is False


def test_the_snapshot_on_connect_matches_the_database(kitchen, small_menu, actors):
    before = board_seq()  # the small menu's 86ed lobster took a number as it was saved
    order = pay(place(small_menu, instructions="<img src=x onerror=alert(1)>"))

    connected, snapshot = connects(socket_for(BOARD, user=actors.chef))

    assert connected
    ticket = Ticket.objects.get(order=order)
    assert snapshot["type"] == "board.snapshot"
    assert snapshot["seq"] == board_snapshot()["seq"] == before + 1
    assert snapshot["sold_out"] == [{"name": "Lobster", "why": "86"}]
    assert [t["id"] for t in snapshot["tickets"]] == [ticket.pk]
    shown = snapshot["tickets"][0]
    assert shown["lines"] == [{"name": "Fries", "quantity": 2, "modifiers": "", "note": ""}]
    assert shown["where"] == "Table 7"
    # Sent as data: the page sets it as text.
    assert shown["instructions"] == "<img src=x onerror=alert(1)>"
    assert {s["slug"]: s["late_after_seconds"] for s in snapshot["stations"]}["bar"] == 6 * 60


def _press(chef_client, ticket_id: int, move: str) -> int:
    ticket = Ticket.objects.get(pk=ticket_id)
    return chef_client.post(
        reverse("kitchen:ticket_move", args=[ticket_id]),
        {"move": move, "version": ticket.version},
        HTTP_ACCEPT="application/json",
    ).status_code


def test_changes_arrive_in_order_with_contiguous_seq_and_add_up_to_a_fresh_snapshot(
    kitchen, small_menu, actors
):
    chef, manager = client_for(actors.chef), client_for(actors.manager)

    communicator = socket_for(BOARD, user=actors.chef)

    async def run():
        connected, _ = await communicator.connect()
        assert connected
        snapshot = await communicator.receive_json_from()
        first = await database_sync_to_async(place)(
            small_menu,
            [CartLine(small_menu.fries.pk, 1), CartLine(small_menu.lemonade.pk, 1, (small_menu.large.pk,))],
        )
        await database_sync_to_async(pay)(first)
        second = await database_sync_to_async(place)(small_menu, table="9")
        await database_sync_to_async(pay)(second)
        events = [await communicator.receive_json_from(timeout=5) for _ in range(2)]
        grill_ticket = next(t["id"] for t in events[0]["tickets"] if t["station"] == "grill")
        for move in ("start", "bump"):
            assert await database_sync_to_async(_press)(chef, grill_ticket, move) == 200
            events.append(await communicator.receive_json_from(timeout=5))
        # A manager 86es the fries between two taps on the board
        await database_sync_to_async(_run_item_action)(manager, "mark_sold_out", small_menu.fries)
        events.append(await communicator.receive_json_from(timeout=5))
        assert await database_sync_to_async(_press)(chef, grill_ticket, "recall") == 200
        events.append(await communicator.receive_json_from(timeout=5))
        await communicator.disconnect()
        return snapshot, events

    snapshot, events = async_to_sync(run)()

    assert [e["type"] for e in events] == ["board.tickets"] * 4 + ["board.sold_out", "board.tickets"]
    assert [e["seq"] for e in events] == list(range(snapshot["seq"] + 1, snapshot["seq"] + 7))
    last = {t["station"]: t for t in events[-1]["tickets"]}
    assert (last["grill"]["status"], last["bar"]["status"]) == ("cooking", "new")
    assert last["bar"]["order_status"] == "in_preparation"
    # The snapshot plus every event is exactly what a board opened now would show.
    board = {t["id"]: t for t in snapshot["tickets"]}
    sold_out = snapshot["sold_out"]
    for event in events:
        if event["type"] == "board.sold_out":
            sold_out = event["sold_out"]
        else:
            board.update({t["id"]: t for t in event["tickets"]})
    fresh = board_snapshot()
    assert fresh["seq"] == events[-1]["seq"]
    assert board == {t["id"]: t for t in fresh["tickets"]}
    assert sold_out == fresh["sold_out"] == [{"name": "Fries", "why": "86"}, {"name": "Lobster", "why": "86"}]


def test_a_board_that_missed_a_broadcast_gets_the_state_once_its_ping_waited_for_it(
    kitchen, small_menu, actors, settings
):
    settings.SOCKET_CATCH_UP_SECONDS = 0.2
    communicator = socket_for(BOARD, user=actors.chef)

    async def run():
        snapshot = await connected_snapshot(communicator)
        # A payment whose broadcast this board never heard (sent while Redis was away).
        with unreachable_channel_layer():
            await database_sync_to_async(pay)(await database_sync_to_async(place)(small_menu))
        await communicator.send_json_to({"type": "ping", "seq": snapshot["seq"]})
        pong = await communicator.receive_json_from(timeout=5)
        # The ticket's frame might still have been on its way; it was not, so the state follows.
        behind = await communicator.receive_json_from(timeout=5)
        await communicator.send_json_to({"type": "ping", "seq": behind["seq"]})
        current = await communicator.receive_json_from(timeout=5)
        await communicator.disconnect()
        return snapshot, pong, behind, current

    snapshot, pong, behind, current = async_to_sync(run)()

    assert pong == {"type": "pong", "seq": snapshot["seq"] + 1}
    assert behind["type"] == "board.snapshot"
    assert behind["seq"] == snapshot["seq"] + 1
    assert len(behind["tickets"]) == 1
    assert current == {"type": "pong", "seq": behind["seq"]}


def test_a_ping_behind_only_what_the_board_was_just_sent_gets_a_pong_not_the_state(
    kitchen, small_menu, actors, settings
):
    # In a rush a board pings while a ticket's frame is on its way to it: the frame is enough.
    settings.SOCKET_CATCH_UP_SECONDS = 0.2
    communicator = socket_for(BOARD, user=actors.chef)

    async def run():
        snapshot = await connected_snapshot(communicator)
        await database_sync_to_async(pay)(await database_sync_to_async(place)(small_menu))
        tickets = await communicator.receive_json_from(timeout=5)
        # The ping was sent before the page applied the frame.
        await communicator.send_json_to({"type": "ping", "seq": snapshot["seq"]})
        pong = await communicator.receive_json_from(timeout=5)
        # Nothing else comes: no state after the wait either.
        quiet = await communicator.receive_nothing(timeout=0.5)
        await communicator.disconnect()
        return snapshot, tickets, pong, quiet

    snapshot, tickets, pong, quiet = async_to_sync(run)()

    assert tickets["type"] == "board.tickets" and tickets["seq"] == snapshot["seq"] + 1
    assert pong == {"type": "pong", "seq": tickets["seq"]}
    assert quiet is True


@pytest.mark.parametrize("garbage", ["not json", "[1, 2]", '{"type": "drop tables"}', "x" * 5000, '"resync"'])
def test_garbage_from_a_board_gets_an_error_and_the_socket_stays_open(kitchen, actors, garbage):
    communicator = socket_for(BOARD, user=actors.chef)

    async def run():
        await communicator.connect()
        await communicator.receive_json_from()
        await communicator.send_to(text_data=garbage)
        error = await communicator.receive_json_from(timeout=5)
        await communicator.send_json_to({"type": "resync"})
        after = await communicator.receive_json_from(timeout=5)
        await communicator.disconnect()
        return error, after

    error, after = async_to_sync(run)()

    assert error["type"] == "error"
    assert error["code"] == "bad_message"
    assert after["type"] == "board.snapshot"
