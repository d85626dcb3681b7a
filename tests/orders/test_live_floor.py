"""The live floor: a grid of tables and the pass, its filters, its socket (/ws/floor/) and its forms."""

from __future__ import annotations

import re

import pytest
from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async
from django.urls import reverse

from accounts.roles import Actor
from kitchen.models import Ticket
from orders.floor.selectors import floor_seq, floor_snapshot
from orders.models import Order, OrderEvent, OrderStatus, OutboxEvent
from orders.pricing import CartLine
from orders.services import OrderDetails, order_place, order_transition
from tests.conftest import client_for
from tests.restaurant.test_socket_access import _set_roles
from tests.sockets import connected_snapshot, connects, socket_for, unreachable_channel_layer

FLOOR = "/ws/floor/"
HOSTILE = "<script>alert(1)</script>"
TILL = Actor.system("test-till")


def _table_order(menu, waiter, table: str, *, instructions: str = "") -> Order:
    """What a waiter's checkout makes: a table's order, placed by the waiter, awaiting payment."""
    order, _ = order_place(
        lines=[CartLine(menu.fries.pk, 2)],
        details=OrderDetails(
            order_type="dine_in",
            table_number=table,
            contact_name=f"Table {table}",
            contact_email="floor@example.test",
            special_instructions=instructions,
        ),
        actor=Actor.for_user(waiter),
    )
    return order


def _online_order(menu, order_type: str = "pickup", *, instructions: str = "") -> Order:
    order, _ = order_place(
        lines=[CartLine(menu.burger.pk, 1, (menu.medium.pk,))],
        details=OrderDetails(
            order_type=order_type,
            contact_name="Grace",
            contact_email="grace@example.test",
            delivery_address="1 Quay Street" if order_type == "delivery" else "",
            special_instructions=instructions,
        ),
        actor=Actor.guest(),
    )
    return order


def _cooked(order: Order, chef) -> Order:  # type: ignore[no-untyped-def]
    cook = Actor.for_user(chef)
    order = order_transition(order=order, to_status=OrderStatus.PAID, actor=TILL)
    order = order_transition(order=order, to_status=OrderStatus.IN_PREPARATION, actor=cook)
    return order_transition(order=order, to_status=OrderStatus.READY, actor=cook)


def _act(client, order: Order, action: str, **fields: object):  # type: ignore[no-untyped-def]
    order.refresh_from_db()
    data = {"action": action, "version": order.version, **fields}
    return client.post(reverse("orders:floor_action", args=[order.pk]), data)


# ---------------------------------------------------------------- the page


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("who", "status"),
    [("anonymous", 302), ("customer", 403), ("chef", 403), ("waiter", 200), ("manager", 200)],
)
def test_only_waiters_and_managers_open_the_floor_page(actors, who, status):
    user = None if who == "anonymous" else getattr(actors, who)

    response = client_for(user).get(reverse("orders:floor"))

    assert response.status_code == status
    if who == "anonymous":
        assert response["Location"].startswith(reverse("account_login"))


@pytest.mark.django_db
def test_the_floor_is_a_grid_of_tables_with_ready_ones_highlighted_and_the_pass_beside_it(
    actors, small_menu, floor_tables
):
    # Given a table whose order is ready, one whose order is unpaid, free tables and a pickup waiting
    ready = _cooked(_table_order(small_menu, actors.waiter, "4"), actors.chef)
    unpaid = _table_order(small_menu, actors.waiter, "7", instructions=HOSTILE)
    pickup = _online_order(small_menu)

    page = client_for(actors.waiter).get(reverse("orders:floor")).content.decode()

    # Then every table in service has its card, in the floor's order, showing how it stands
    assert re.findall(r'data-table="(\d+)"', page) == [str(t.pk) for t in floor_tables]
    table_4 = page[page.index(f'data-table="{floor_tables[3].pk}"') :]
    assert table_4.startswith(f'data-table="{floor_tables[3].pk}" data-state="ready"')
    assert "Ready to serve" in table_4.split("</li>")[0]
    assert f'data-table="{floor_tables[6].pk}" data-state="waiting"' in page
    assert f'data-table="{floor_tables[0].pk}" data-state="free"' in page
    # each order with its status and how long it has waited, with the forms its status offers
    assert re.search(rf'data-order="{ready.pk}" data-status="ready"', page)
    assert "ready for" in page and "waiting" in page
    # (the templates floor.js fills hold every form)
    shown = page.split('<template id="floor-table-template">')[0]
    assert shown.count('value="served"') == 1 and shown.count('value="paid"') == 2
    # and the pickup waits at the pass, not at a table
    assert page.index(f'data-order="{pickup.pk}"') > page.index('id="pass-title"')
    assert page.index(f'data-order="{unpaid.pk}"') < page.index('id="pass-title"')
    # What a guest typed is escaped
    assert HOSTILE not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("show", "expected"),
    [
        ("all", {"ready", "unpaid", "pickup", "delivery"}),
        ("ready", {"ready"}),
        ("waiting", {"unpaid", "pickup", "delivery"}),
        ("tables", {"ready", "unpaid"}),
        ("pickups", {"pickup"}),
        ("deliveries", {"delivery"}),
    ],
)
def test_filters_narrow_the_floor_instead_of_one_endless_list(
    actors, small_menu, floor_tables, show, expected
):
    orders = {
        "ready": _cooked(_table_order(small_menu, actors.waiter, "4"), actors.chef),
        "unpaid": _table_order(small_menu, actors.waiter, "7"),
        "pickup": _online_order(small_menu),
        "delivery": _online_order(small_menu, "delivery"),
    }

    response = client_for(actors.waiter).get(reverse("orders:floor"), {"show": show})

    assert response.status_code == 200
    page = response.content.decode()
    shown = {int(pk) for pk in re.findall(r'data-order="(\d+)"', page)}
    assert shown == {orders[name].pk for name in expected}
    assert re.search(rf'aria-current="page" data-filter="{show}"', page)
    counts = dict(re.findall(r'data-count="(\w+)">(\d+)<', page))
    assert counts == {
        "all": "4",
        "ready": "1",
        "waiting": "3",
        "tables": "2",
        "pickups": "1",
        "deliveries": "1",
    }
    # Only the tables with something to show on "ready" and "waiting"; none on the pass's own filters
    tables = re.findall(r'data-table="(\d+)"', page)
    if show in ("all", "tables"):
        assert len(tables) == len(floor_tables)
    elif show == "ready":
        assert tables == [str(floor_tables[3].pk)]
    elif show == "waiting":
        assert tables == [str(floor_tables[6].pk)]
    else:
        assert tables == []


@pytest.mark.django_db
def test_an_action_brings_the_waiter_back_to_the_filter_they_were_on(actors, small_menu, floor_tables):
    order = _cooked(_table_order(small_menu, actors.waiter, "4"), actors.chef)

    response = _act(client_for(actors.waiter), order, "served", show="ready")

    assert response.status_code == 302
    assert response["Location"] == reverse("orders:floor") + "?show=ready"
    order.refresh_from_db()
    assert order.status == OrderStatus.COMPLETED


# ---------------------------------------------------------------- hostile input on the floor


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("fields", "status", "says"),
    [
        ({"action": "cancel", "reason": "x" * 501}, 400, "not on the floor page"),
        ({"action": "cancel", "reason": "walked\u202eout"}, 400, "not on the floor page"),
        ({"action": "cancel", "reason": "walked\x00out"}, 400, "not on the floor page"),
        ({"action": "cancel", "reason": "  "}, 400, "Say why"),
        ({"action": "refund"}, 400, "not on the floor page"),
        ({"action": "paid", "version": "abc"}, 400, "not on the floor page"),
        ({"action": "paid", "version": 2**40}, 400, "not on the floor page"),
        ({"action": "paid", "version": 0}, 400, "not on the floor page"),
        ({"action": "paid", "total_minor": 1}, 400, "not on the floor page"),
        ({"action": "paid", "show": HOSTILE}, 400, "not on the floor page"),
        ({"action": "paid", "version": 99}, 409, "Someone else changed this order"),
        ({"action": "served"}, 409, "not ready to hand over"),
    ],
    ids=[
        "reason-too-long",
        "reason-bidi-control",
        "reason-nul",
        "reason-blank",
        "unknown-action",
        "version-not-a-number",
        "version-too-large",
        "version-zero",
        "extra-field",
        "hostile-filter",
        "stale-version",
        "served-before-ready",
    ],
)
def test_hostile_input_on_a_floor_action_is_a_clear_4xx_and_writes_nothing(
    actors, small_menu, floor_tables, fields, status, says
):
    order = _table_order(small_menu, actors.waiter, "3")
    before = (OrderEvent.objects.count(), OutboxEvent.objects.count())
    data = {"version": order.version, **fields}

    response = client_for(actors.waiter).post(reverse("orders:floor_action", args=[order.pk]), data)

    assert response.status_code == status
    page = response.content.decode()
    assert says in page
    assert HOSTILE not in page
    order.refresh_from_db()
    assert order.status == OrderStatus.AWAITING_PAYMENT
    assert (OrderEvent.objects.count(), OutboxEvent.objects.count()) == before


@pytest.mark.django_db
@pytest.mark.parametrize("order_id", ["0", "999999", "99999999999999999999"])
def test_a_floor_action_on_an_order_that_does_not_exist_is_a_404(actors, order_id):
    response = client_for(actors.waiter).post(f"/floor/orders/{order_id}/", {"action": "paid", "version": 1})

    assert response.status_code == 404


@pytest.mark.django_db
@pytest.mark.parametrize("who", ["customer", "chef"])
def test_nobody_but_floor_staff_acts_on_the_floor(actors, small_menu, floor_tables, who):
    order = _table_order(small_menu, actors.waiter, "3")

    response = _act(client_for(getattr(actors, who)), order, "paid")

    assert response.status_code == 403
    order.refresh_from_db()
    assert order.status == OrderStatus.AWAITING_PAYMENT


@pytest.mark.django_db
@pytest.mark.parametrize(
    "query", [{"show": HOSTILE}, {"show": "ready", "order_by": "total"}, {"show": "x" * 5000}]
)
def test_a_filter_the_floor_does_not_have_is_a_400_that_names_no_input(actors, query):
    response = client_for(actors.waiter).get(reverse("orders:floor"), query)

    assert response.status_code == 400
    page = response.content.decode()
    assert "That filter is not on the floor page." in page
    assert HOSTILE not in page


# ---------------------------------------------------------------- the socket


@pytest.mark.parametrize(
    ("who", "allowed"),
    [("anonymous", False), ("customer", False), ("chef", False), ("waiter", True), ("manager", True)],
)
@pytest.mark.django_db(transaction=True)
def test_only_waiters_and_managers_open_the_floor_socket(actors, who, allowed):
    user = None if who == "anonymous" else getattr(actors, who)

    connected, answer = connects(socket_for(FLOOR, user=user))

    assert connected is allowed
    if allowed:
        assert answer["type"] == "floor.snapshot"  # type: ignore[index]
    else:
        assert answer == 4403


@pytest.mark.django_db(transaction=True)
def test_a_floor_socket_from_a_foreign_origin_is_refused(actors):
    connected, _ = connects(socket_for(FLOOR, user=actors.waiter, origin="https://evil.example"))

    assert connected is False


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("eager_tasks")
def test_a_waiter_who_is_no_longer_one_loses_the_floor_socket_at_once(actors):
    floor = socket_for(FLOOR, user=actors.waiter)
    manager = client_for(actors.manager)

    async def run():
        connected, _ = await floor.connect()
        assert connected
        await floor.receive_json_from()
        assert await database_sync_to_async(_set_roles)(manager, actors.waiter, "chef") == 302
        answer = await floor.receive_output(timeout=5)
        await floor.disconnect()
        return answer

    assert async_to_sync(run)() == {"type": "websocket.close", "code": 4403}


def _press(chef_client, ticket: Ticket, move: str) -> int:  # type: ignore[no-untyped-def]
    ticket.refresh_from_db()
    return chef_client.post(
        reverse("kitchen:ticket_move", args=[ticket.pk]),
        {"move": move, "version": ticket.version},
        HTTP_ACCEPT="application/json",
    ).status_code


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("eager_tasks")
def test_every_change_reaches_the_floor_in_order_and_adds_up_to_a_fresh_snapshot(
    actors, small_menu, floor_tables
):
    waiter, chef = client_for(actors.waiter), client_for(actors.chef)
    floor = socket_for(FLOOR, user=actors.waiter)
    sync = database_sync_to_async

    async def run():
        connected, _ = await floor.connect()
        assert connected
        snapshot = await floor.receive_json_from()
        count = 0
        # A table's order is placed, paid at the table, cooked, made ready and served;
        served = await sync(_table_order)(small_menu, actors.waiter, "4")
        assert (await sync(_act)(waiter, served, "paid")).status_code == 302
        ticket = await sync(Ticket.objects.get)(order=served)
        assert await sync(_press)(chef, ticket, "start") == 200
        assert await sync(_press)(chef, ticket, "bump") == 200
        assert (await sync(_act)(waiter, served, "served")).status_code == 302
        count += 5
        # another is paid and waits for the kitchen; a pickup is called off; a delivery waits for payment.
        paid = await sync(_table_order)(small_menu, actors.waiter, "5")
        assert (await sync(_act)(waiter, paid, "paid")).status_code == 302
        called_off = await sync(_online_order)(small_menu)
        assert (await sync(_act)(waiter, called_off, "cancel", reason="Guest phoned")).status_code == 302
        waiting = await sync(_online_order)(small_menu, "delivery", instructions=HOSTILE)
        count += 5
        events = [await floor.receive_json_from(timeout=5) for _ in range(count)]
        await floor.disconnect()
        return snapshot, events, served, paid, waiting

    snapshot, events, served, paid, waiting = async_to_sync(run)()

    # Then each change arrived once, numbered one after the other
    assert {e["type"] for e in events} == {"floor.orders"}
    assert [e["seq"] for e in events] == list(range(snapshot["seq"] + 1, snapshot["seq"] + 11))
    statuses = [(e["orders"][0]["id"], e["orders"][0]["status"]) for e in events]
    assert statuses[:5] == [
        (served.pk, "awaiting_payment"),
        (served.pk, "paid"),
        (served.pk, "in_preparation"),
        (served.pk, "ready"),
        (served.pk, "completed"),
    ]
    # and the snapshot plus every event is exactly what a floor opened now shows.
    floor_now = {o["id"]: o for o in snapshot["orders"]}
    for event in events:
        for order in event["orders"]:
            if order["status"] in {"awaiting_payment", "paid", "in_preparation", "ready"}:
                floor_now[order["id"]] = order
            else:
                floor_now.pop(order["id"], None)
    fresh = floor_snapshot()
    assert fresh["seq"] == events[-1]["seq"]
    assert floor_now == {o["id"]: o for o in fresh["orders"]}
    assert set(floor_now) == {paid.pk, waiting.pk}
    assert floor_now[paid.pk]["table_id"] == floor_tables[4].pk
    assert floor_now[waiting.pk]["table_id"] is None
    # Sent as data: the page sets it as text.
    assert floor_now[waiting.pk]["instructions"] == HOSTILE
    assert [t["id"] for t in fresh["tables"]] == [t.pk for t in floor_tables]


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("eager_tasks")
def test_a_floor_behind_gets_the_state_again_and_a_current_one_a_pong(
    actors, small_menu, floor_tables, settings
):
    settings.SOCKET_CATCH_UP_SECONDS = 0.2
    floor = socket_for(FLOOR, user=actors.waiter)

    async def run():
        snapshot = await connected_snapshot(floor)
        # A change whose broadcast this page never saw (sent while Redis was away), then the page's ping.
        with unreachable_channel_layer():
            await database_sync_to_async(_online_order)(small_menu)
        await floor.send_json_to({"type": "ping", "seq": snapshot["seq"]})
        # A pong at once; the state once the change's frame has had its time to come.
        pong = await floor.receive_json_from(timeout=5)
        behind = await floor.receive_json_from(timeout=5)
        await floor.send_json_to({"type": "ping", "seq": behind["seq"]})
        current = await floor.receive_json_from(timeout=5)
        # A page that saw a gap in seq asks for the state outright.
        await floor.send_json_to({"type": "resync"})
        resent = await floor.receive_json_from(timeout=5)
        await floor.disconnect()
        return snapshot, pong, behind, current, resent

    snapshot, pong, behind, current, resent = async_to_sync(run)()

    assert pong == {"type": "pong", "seq": snapshot["seq"] + 1}
    assert behind["type"] == "floor.snapshot"
    assert behind["seq"] == snapshot["seq"] + 1 == floor_seq()
    assert len(behind["orders"]) == len(snapshot["orders"]) + 1
    assert current == {"type": "pong", "seq": behind["seq"]}
    assert resent["type"] == "floor.snapshot" and resent["seq"] == behind["seq"]


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("garbage", ["not json", "[1, 2]", '{"type": "served"}', "x" * 5000])
def test_garbage_on_the_floor_socket_gets_an_error_and_changes_nothing(actors, garbage):
    floor = socket_for(FLOOR, user=actors.waiter)

    async def run():
        await floor.connect()
        await floor.receive_json_from()
        await floor.send_to(text_data=garbage)
        error = await floor.receive_json_from(timeout=5)
        await floor.disconnect()
        return error

    error = async_to_sync(run)()

    assert (error["type"], error["code"]) == ("error", "bad_message")
