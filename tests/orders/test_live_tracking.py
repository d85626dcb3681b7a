"""The order tracking socket: who may follow an order, the snapshot, and live events in order."""

from __future__ import annotations

import pytest
from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator

from accounts.roles import Actor, Role
from orders.models import Order, OrderStatus
from orders.pricing import CartLine
from orders.services import OrderDetails, order_place, order_transition
from tests.sockets import connected_snapshot, connects, socket_for

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("eager_tasks")]

TILL = Actor.system("test-till")
CHEF = Actor(label="chef", roles=frozenset({Role.CHEF}))


def _order(menu, owner=None) -> Order:
    order, _ = order_place(
        lines=[CartLine(menu.fries.pk, 1)],
        details=OrderDetails(order_type="pickup", contact_name="Ada", contact_email="ada@example.test"),
        actor=Actor.for_user(owner) if owner else Actor.guest(),
    )
    return order


def _socket(order: Order, *, user=None, origin: str = "http://testserver") -> WebsocketCommunicator:
    return socket_for(f"/ws/orders/{order.tracking_token}/", user=user, origin=origin)


def test_a_guest_with_the_link_gets_a_snapshot_that_matches_the_database(small_menu):
    order = _order(small_menu)

    connected, snapshot = connects(_socket(order))

    assert connected
    assert snapshot == {
        "type": "order.snapshot",
        "seq": order.version,
        "order": {
            "number": order.number,
            "status": "awaiting_payment",
            "status_label": "Placed, awaiting payment",
        },
    }


def test_a_wrong_token_and_another_customers_order_are_closed_with_4403(small_menu, actors):
    theirs = _order(small_menu, actors.customer)
    forged = Order(tracking_token="not-a-real-token")

    assert connects(_socket(forged)) == (False, 4403)
    assert connects(_socket(theirs)) == (False, 4403)
    assert connects(_socket(theirs, user=actors.other_customer)) == (False, 4403)
    assert connects(_socket(theirs, user=actors.customer))[0] is True


def test_a_socket_from_a_foreign_origin_is_refused(small_menu):
    order = _order(small_menu)
    connected, _ = connects(_socket(order, origin="https://evil.example"))
    assert connected is False


def test_status_changes_arrive_live_in_order_with_contiguous_sequence_numbers(small_menu):
    order = _order(small_menu)

    async def run():
        communicator = _socket(order)
        connected, _ = await communicator.connect()
        assert connected
        snapshot = await communicator.receive_json_from()
        for status, actor in [
            (OrderStatus.PAID, TILL),
            (OrderStatus.IN_PREPARATION, CHEF),
            (OrderStatus.READY, CHEF),
        ]:
            current = await database_sync_to_async(Order.objects.get)(pk=order.pk)
            await database_sync_to_async(order_transition)(order=current, to_status=status, actor=actor)
        events = [await communicator.receive_json_from(timeout=5) for _ in range(3)]
        await communicator.disconnect()
        return snapshot, events

    snapshot, events = async_to_sync(run)()

    assert [event["status"] for event in events] == ["paid", "in_preparation", "ready"]
    assert [event["seq"] for event in events] == [
        snapshot["seq"] + 1,
        snapshot["seq"] + 2,
        snapshot["seq"] + 3,
    ]
    assert events[-1]["status_label"] == "Ready"
    order.refresh_from_db()
    assert order.version == events[-1]["seq"]


def test_a_client_that_asks_again_gets_the_current_state(small_menu):
    order = _order(small_menu)

    async def run():
        communicator = _socket(order)
        await communicator.connect()
        await communicator.receive_json_from()
        current = await database_sync_to_async(Order.objects.get)(pk=order.pk)
        # A change the client did not hear of (it was broadcast before it listened).
        await database_sync_to_async(Order.objects.filter(pk=order.pk).update)(
            status=OrderStatus.PAID, version=current.version + 1
        )
        await communicator.send_json_to({"type": "resync"})
        again = await communicator.receive_json_from()
        await communicator.disconnect()
        return again

    again = async_to_sync(run)()

    assert again["type"] == "order.snapshot"
    assert again["order"]["status"] == "paid"
    assert again["seq"] == 2


def test_a_ping_behind_the_order_gets_the_state_once_no_event_brought_it_and_a_current_one_a_pong(
    small_menu, settings
):
    settings.SOCKET_CATCH_UP_SECONDS = 0.2
    order = _order(small_menu)
    communicator = _socket(order)

    async def run():
        await communicator.connect()
        snapshot = await communicator.receive_json_from()
        # A change whose broadcast this page never heard (sent while Redis was away).
        await database_sync_to_async(Order.objects.filter(pk=order.pk).update)(
            status=OrderStatus.PAID, version=snapshot["seq"] + 1
        )
        await communicator.send_json_to({"type": "ping", "seq": snapshot["seq"]})
        pong = await communicator.receive_json_from(timeout=5)
        behind = await communicator.receive_json_from(timeout=5)
        await communicator.send_json_to({"type": "ping", "seq": behind["seq"]})
        current = await communicator.receive_json_from(timeout=5)
        await communicator.disconnect()
        return pong, behind, current

    pong, behind, current = async_to_sync(run)()

    assert pong["type"] == "pong"
    assert behind["type"] == "order.snapshot"
    assert behind["order"]["status"] == "paid"
    assert current == {"type": "pong", "seq": behind["seq"]}


def test_guests_pinging_at_once_are_answered_each_for_their_own_order(small_menu, settings):
    settings.SOCKET_CATCH_UP_SECONDS = 0.2
    # Given twelve guests following their orders, a third of which changed unheard
    orders = [_order(small_menu) for _ in range(12)]
    behind = {order.pk for order in orders[::3]}
    sockets = [_socket(order) for order in orders]

    async def run():
        snapshots = [await connected_snapshot(socket) for socket in sockets]
        for order in orders:
            if order.pk in behind:
                await database_sync_to_async(Order.objects.filter(pk=order.pk).update)(
                    status=OrderStatus.PAID, version=order.version + 1
                )
        # When they all ping at once (their pings share one read of the database)
        for socket, snapshot in zip(sockets, snapshots, strict=True):
            await socket.send_json_to({"type": "ping", "seq": snapshot["seq"]})
        pongs = [await socket.receive_json_from(timeout=5) for socket in sockets]
        states = {
            order.pk: await socket.receive_json_from(timeout=5)
            for order, socket in zip(orders, sockets, strict=True)
            if order.pk in behind
        }
        for socket in sockets:
            await socket.disconnect()
        return pongs, states

    pongs, states = async_to_sync(run)()

    # Then each got its own order's seq, and the ones behind their order's state after the wait
    assert pongs == [
        {"type": "pong", "seq": order.version + (1 if order.pk in behind else 0)} for order in orders
    ]
    for order in orders:
        if order.pk in behind:
            state = states[order.pk]
            assert state["type"] == "order.snapshot"
            assert (state["seq"], state["order"]["number"]) == (order.version + 1, order.number)


def test_a_guest_socket_whose_order_is_gone_is_closed_at_its_next_ping(small_menu):
    order = _order(small_menu)
    socket = _socket(order)

    async def run():
        snapshot = await connected_snapshot(socket)
        await database_sync_to_async(Order.objects.filter(pk=order.pk).delete)()
        await socket.send_json_to({"type": "ping", "seq": snapshot["seq"]})
        answer = await socket.receive_output(timeout=5)
        await socket.disconnect()
        return answer

    assert async_to_sync(run)() == {"type": "websocket.close", "code": 4403}


def test_a_catch_up_that_cannot_read_the_state_is_logged_and_the_next_ping_decides(
    small_menu, settings, caplog
):
    settings.SOCKET_CATCH_UP_SECONDS = 0.2
    order = _order(small_menu)
    socket = _socket(order)

    async def run():
        snapshot = await connected_snapshot(socket)
        # A change this page never heard, then the order is gone before the socket's wait ends
        await database_sync_to_async(Order.objects.filter(pk=order.pk).update)(version=snapshot["seq"] + 1)
        await socket.send_json_to({"type": "ping", "seq": snapshot["seq"]})
        pong = await socket.receive_json_from(timeout=5)
        await database_sync_to_async(Order.objects.filter(pk=order.pk).delete)()
        nothing = await socket.receive_nothing(timeout=0.6)
        await socket.send_json_to({"type": "ping", "seq": snapshot["seq"]})
        closed = await socket.receive_output(timeout=5)
        await socket.disconnect()
        return pong, nothing, closed

    pong, nothing, closed = async_to_sync(run)()

    assert pong["type"] == "pong" and nothing is True
    assert "socket catch-up failed" in caplog.messages
    assert closed == {"type": "websocket.close", "code": 4403}
