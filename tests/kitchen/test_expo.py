"""Expo: an order's station tickets on one card, ready once every station bumped, handed over from there.

Through the doors: the expo page, the hand-over door (/kitchen/orders/<id>/hand-over/), the
ticket buttons and the board socket; orders.handover.order_hand_over underneath.
"""

from __future__ import annotations

import re

import pytest
from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async
from django.urls import reverse

from accounts.roles import Actor
from kitchen.models import Ticket, TicketStatus
from kitchen.selectors import board_snapshot
from orders.handover import HAND_OVER_BY_TYPE, HandOver, order_hand_over
from orders.models import Order, OrderEvent, OrderStatus, OrderType
from orders.pricing import CartLine
from orders.services import OrderDetails, order_place
from restaurant.errors import ApplicationError, Conflict, Forbidden
from tests.conftest import client_for
from tests.kitchen.conftest import on_the_board, pay
from tests.sockets import socket_for

pytestmark = pytest.mark.django_db

JSON = {"HTTP_ACCEPT": "application/json"}
HOSTILE = "<script>alert(1)</script>"


def _two_stations(menu) -> list[CartLine]:
    return [CartLine(menu.fries.pk, 2), CartLine(menu.lemonade.pk, 1, (menu.large.pk,))]


def _away(menu, order_type: str) -> Order:
    """A paid pickup or delivery order of fries, on the board."""
    order, _ = order_place(
        lines=[CartLine(menu.fries.pk, 1)],
        details=OrderDetails(
            order_type=order_type,
            contact_name="Grace",
            contact_email="grace@example.test",
            delivery_address="1 Quay Street" if order_type == "delivery" else "",
        ),
        actor=Actor.guest(),
    )
    return pay(order)


def _bump_all(order: Order, chef) -> Order:
    for ticket in order.tickets.all():
        answer = chef.post(
            reverse("kitchen:ticket_move", args=[ticket.pk]),
            {"move": "bump", "version": ticket.version},
            **JSON,
        )
        assert answer.status_code == 200
    order.refresh_from_db()
    return order


def _ready(menu, actors, lines: list[CartLine] | None = None) -> Order:
    return _bump_all(on_the_board(menu, lines), client_for(actors.chef))


def _hand_over(client, order: Order, **data):
    body = {"how": "served", "version": order.version, **data}
    return client.post(reverse("kitchen:order_hand_over", args=[order.pk]), body, **JSON)


def _unchanged(order: Order) -> None:
    before = (order.status, order.version)
    events = OrderEvent.objects.filter(order=order).count()
    order.refresh_from_db()
    assert (order.status, order.version) == before
    assert OrderEvent.objects.filter(order=order).count() == events


# ------------------------------------------------------------------ the service


def test_a_ready_table_order_is_served_and_the_audit_row_says_how(kitchen, small_menu, actors):
    order = _ready(small_menu, actors, _two_stations(small_menu))
    assert order.status == OrderStatus.READY

    order = order_hand_over(
        order=order, actor=Actor.for_user(actors.chef), how="served", expected_version=order.version
    )

    assert order.status == OrderStatus.COMPLETED
    event = order.events.last()
    assert (event.from_status, event.to_status, event.actor, event.reason) == (
        "ready",
        "completed",
        actors.chef,
        "served",
    )
    assert event.data == {"handed_over": "served"}


@pytest.mark.parametrize(("order_type", "how"), [("pickup", "picked_up"), ("delivery", "out_for_delivery")])
def test_pickup_is_picked_up_and_delivery_goes_out_with_the_driver(
    kitchen, small_menu, actors, order_type, how
):
    order = _bump_all(_away(small_menu, order_type), client_for(actors.chef))

    order = order_hand_over(
        order=order, actor=Actor.for_user(actors.waiter), how=how, expected_version=order.version
    )

    assert order.status == OrderStatus.COMPLETED
    assert order.events.last().data == {"handed_over": how}


def test_a_way_that_does_not_fit_the_order_is_refused(kitchen, small_menu, actors):
    order = _ready(small_menu, actors)

    with pytest.raises(ApplicationError) as refused:
        order_hand_over(
            order=order,
            actor=Actor.for_user(actors.chef),
            how="out_for_delivery",
            expected_version=order.version,
        )

    assert refused.value.code == "wrong_hand_over"
    assert refused.value.data == {"expected": "served"}
    _unchanged(order)


def test_an_order_still_cooking_is_not_handed_over(kitchen, small_menu, actors):
    order = on_the_board(small_menu, _two_stations(small_menu))
    grill = order.tickets.get(station=kitchen.grill)
    client_for(actors.chef).post(
        reverse("kitchen:ticket_move", args=[grill.pk]), {"move": "bump", "version": grill.version}, **JSON
    )
    order.refresh_from_db()
    assert order.status == OrderStatus.IN_PREPARATION

    with pytest.raises(Conflict) as refused:
        order_hand_over(
            order=order, actor=Actor.for_user(actors.chef), how="served", expected_version=order.version
        )

    assert refused.value.code == "order_not_ready"
    _unchanged(order)


def test_a_guest_holding_the_link_cannot_hand_over(kitchen, small_menu, actors):
    order = _ready(small_menu, actors)

    with pytest.raises(Forbidden):
        order_hand_over(order=order, actor=Actor.guest(), how="served", expected_version=order.version)

    _unchanged(order)


# ------------------------------------------------------------------ the door: who may


@pytest.mark.parametrize(
    ("who", "status"),
    [
        ("anonymous", 302),
        ("customer", 403),
        ("other_customer", 403),
        ("waiter", 200),
        ("chef", 200),
        ("manager", 200),
    ],
)
def test_who_hands_an_order_over(kitchen, small_menu, actors, who, status):
    order = _ready(small_menu, actors)
    client = client_for(None if who == "anonymous" else getattr(actors, who))

    answer = _hand_over(client, order)

    assert answer.status_code == status
    order.refresh_from_db()
    assert order.status == (OrderStatus.COMPLETED if status == 200 else OrderStatus.READY)
    if status == 200:
        assert answer.json()["order"] == {"id": order.pk, "status": "completed", "version": order.version}
    if status == 302:
        assert reverse("account_login") in answer["Location"]


def test_the_customer_who_ordered_cannot_mark_it_picked_up(kitchen, small_menu, actors):
    order, _ = order_place(
        lines=[CartLine(small_menu.fries.pk, 1)],
        details=OrderDetails(order_type="pickup", contact_name="Carla", contact_email="carla@example.test"),
        actor=Actor.for_user(actors.customer),
    )
    order = _bump_all(pay(order), client_for(actors.chef))

    answer = _hand_over(client_for(actors.customer), order, how="picked_up")

    assert answer.status_code == 403
    assert answer.json()["error"]["code"] == "not_allowed_to_serve"
    _unchanged(order)


# ------------------------------------------------------------------ the door: hostile input


@pytest.mark.parametrize(
    ("data", "status", "code"),
    [
        ({"how": "teleported"}, 400, "unknown_hand_over"),
        ({"how": HOSTILE}, 400, "unknown_hand_over"),
        ({"how": "served\x00"}, 400, "unknown_hand_over"),
        ({"how": "s" * 10_000}, 400, "unknown_hand_over"),
        ({"how": ""}, 400, "unknown_hand_over"),
        ({"version": "abc"}, 400, "unknown_hand_over"),
        ({"version": 0}, 400, "unknown_hand_over"),
        ({"version": 10**30}, 400, "unknown_hand_over"),
        ({"price": 0}, 400, "unknown_hand_over"),
        ({"how": "picked_up"}, 400, "wrong_hand_over"),
        ({"version": 1}, 409, "stale_order"),
    ],
    ids=[
        "unknown-way",
        "markup",
        "control-character",
        "oversized",
        "empty",
        "version-not-a-number",
        "version-zero",
        "version-huge",
        "unexpected-field",
        "way-of-another-type",
        "stale-version",
    ],
)
def test_bad_hand_overs_are_refused_with_a_stable_error_and_write_nothing(
    kitchen, small_menu, actors, data, status, code
):
    order = _ready(small_menu, actors)

    answer = _hand_over(client_for(actors.chef), order, **data)

    assert answer.status_code == status
    body = answer.json()["error"]
    assert body["code"] == code
    assert HOSTILE not in answer.content.decode()
    _unchanged(order)


def test_an_order_handed_over_twice_is_a_conflict_the_second_time(kitchen, small_menu, actors):
    order = _ready(small_menu, actors)
    chef, waiter = client_for(actors.chef), client_for(actors.waiter)

    assert _hand_over(chef, order).status_code == 200
    second = _hand_over(waiter, order)

    assert second.status_code == 409
    assert second.json()["error"]["code"] == "order_not_ready"
    assert OrderEvent.objects.filter(order=order, to_status="completed").count() == 1


def test_an_unknown_order_is_not_found(kitchen, actors):
    answer = client_for(actors.chef).post(
        reverse("kitchen:order_hand_over", args=[999999]), {"how": "served", "version": 1}, **JSON
    )

    assert answer.status_code == 404
    assert answer.json()["error"]["code"] == "order_not_found"


def test_a_form_post_hands_over_and_returns_to_expo_or_shows_why_not(kitchen, small_menu, actors):
    order = _ready(small_menu, actors)
    chef = client_for(actors.chef)
    url = reverse("kitchen:order_hand_over", args=[order.pk])

    stale = chef.post(url, {"how": "served", "version": order.version + 5})
    done = chef.post(url, {"how": "served", "version": order.version})

    assert stale.status_code == 409
    assert "Someone else changed this order just now" in stale.content.decode()
    assert done.status_code == 302 and done["Location"] == reverse("kitchen:board")
    waiter = client_for(actors.waiter).post(url, {"how": "served", "version": order.version})
    assert waiter.status_code == 409
    assert waiter["Content-Type"].startswith("text/plain")


def test_a_bump_at_a_stale_version_or_of_a_handed_over_order_writes_nothing(kitchen, small_menu, actors):
    order = _ready(small_menu, actors)
    ticket = order.tickets.get()
    chef = client_for(actors.chef)
    url = reverse("kitchen:ticket_move", args=[ticket.pk])

    stale = chef.post(url, {"move": "recall", "version": ticket.version + 1}, **JSON)
    _hand_over(chef, order)
    ticket.refresh_from_db()
    gone = chef.post(url, {"move": "recall", "version": ticket.version}, **JSON)

    assert (stale.status_code, stale.json()["error"]["code"]) == (409, "stale_ticket")
    assert (gone.status_code, gone.json()["error"]["code"]) == (409, "order_left_kitchen")
    ticket.refresh_from_db()
    assert ticket.status == TicketStatus.BUMPED


# ------------------------------------------------------------------ the expo page


def test_expo_shows_one_card_per_order_with_each_stations_progress(kitchen, small_menu, actors):
    order = on_the_board(small_menu, _two_stations(small_menu))
    grill = order.tickets.get(station=kitchen.grill)
    chef = client_for(actors.chef)
    chef.post(reverse("kitchen:ticket_move", args=[grill.pk]), {"move": "bump", "version": 1}, **JSON)

    page = chef.get(reverse("kitchen:board")).content.decode()

    cards = re.findall(r'<article class="order-card" data-order="(\d+)" data-ready="(\w+)"', page)
    assert cards == [(str(order.pk), "false")]
    card = page[page.index(f'data-order="{order.pk}"') :]
    assert re.search(r'Grill</span> <span class="order-station-status" data-field="status">Bumped', card)
    assert re.search(r'Bar</span> <span class="order-station-status" data-field="status">New', card)
    # The card's recall stays: the bumped grill ticket's own buttons are in it.
    assert f'action="/kitchen/tickets/{grill.pk}/move/"' in card


def test_a_ready_order_waits_at_the_pass_with_its_hand_over_button(kitchen, small_menu, actors):
    ready = _ready(small_menu, actors, _two_stations(small_menu))
    cooking = on_the_board(small_menu)
    pickup = _bump_all(_away(small_menu, "pickup"), client_for(actors.chef))

    page = client_for(actors.chef).get(reverse("kitchen:board")).content.decode()

    pass_rail = page[page.index("data-ready-rail") : page.index('id="order-card-template"')]
    cooking_rail = page[page.index("data-open>") : page.index("data-ready-rail")]
    assert f'data-order="{ready.pk}" data-ready="true"' in pass_rail
    assert f'data-order="{pickup.pk}" data-ready="true"' in pass_rail
    assert f'data-order="{cooking.pk}"' in cooking_rail and f'data-order="{cooking.pk}"' not in pass_rail
    assert 'name="how" value="served" class="primary" data-hand-over>Served</button>' in pass_rail
    assert 'name="how" value="picked_up" class="primary" data-hand-over>Picked up</button>' in pass_rail
    assert f'<input type="hidden" name="version" value="{ready.version}">' in pass_rail


def test_an_order_handed_over_leaves_the_board(kitchen, small_menu, actors):
    order = _ready(small_menu, actors, _two_stations(small_menu))
    assert {t["order_id"] for t in board_snapshot()["tickets"]} == {order.pk}

    _hand_over(client_for(actors.waiter), order)

    assert board_snapshot()["tickets"] == []
    page = client_for(actors.chef).get(reverse("kitchen:board")).content.decode()
    assert f'data-order="{order.pk}"' not in page


def test_the_board_becomes_compact_when_many_tickets_are_open(kitchen, small_menu, actors):
    chef = client_for(actors.chef)
    for _ in range(3):
        on_the_board(small_menu)
    roomy = chef.get(reverse("kitchen:board")).content.decode()
    for _ in range(11):
        on_the_board(small_menu)
    compact = chef.get(reverse("kitchen:board")).content.decode()

    assert 'data-density="roomy"' in roomy
    assert 'data-density="compact"' in compact


def test_every_type_of_order_has_its_one_way_to_leave_the_pass():
    assert set(HAND_OVER_BY_TYPE) == set(OrderType.values)
    assert sorted(HAND_OVER_BY_TYPE.values()) == sorted(HandOver)


# ------------------------------------------------------------------ live


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("eager_tasks")
def test_a_hand_over_reaches_the_board_in_sequence_and_adds_up_to_a_fresh_snapshot(
    kitchen, small_menu, actors
):
    chef = client_for(actors.chef)
    order = on_the_board(small_menu, _two_stations(small_menu))
    still_cooking = on_the_board(small_menu)
    ticket_ids = list(order.tickets.order_by("pk").values_list("pk", flat=True))
    communicator = socket_for("/ws/kitchen/", user=actors.chef)

    def bump(ticket_id: int) -> int:
        ticket = Ticket.objects.get(pk=ticket_id)
        return chef.post(
            reverse("kitchen:ticket_move", args=[ticket_id]),
            {"move": "bump", "version": ticket.version},
            **JSON,
        ).status_code

    def hand_over() -> int:
        order.refresh_from_db()
        return _hand_over(client_for(actors.waiter), order).status_code

    async def run():
        connected, _ = await communicator.connect()
        assert connected
        snapshot = await communicator.receive_json_from()
        events = []
        for ticket_id in ticket_ids:
            assert await database_sync_to_async(bump)(ticket_id) == 200
            events.append(await communicator.receive_json_from(timeout=5))
        assert await database_sync_to_async(hand_over)() == 200
        events.append(await communicator.receive_json_from(timeout=5))
        await communicator.disconnect()
        return snapshot, events

    snapshot, events = async_to_sync(run)()

    assert [e["seq"] for e in events] == list(range(snapshot["seq"] + 1, snapshot["seq"] + 4))
    assert {t["order_status"] for t in events[1]["tickets"]} == {"ready"}
    assert {t["order_status"] for t in events[2]["tickets"]} == {"completed"}
    # What a board keeps (kitchen-board.js): open tickets, and bumped ones of orders still in the kitchen.
    board = {t["id"]: t for t in snapshot["tickets"]}
    for event in events:
        for t in event["tickets"]:
            board[t["id"]] = t
    kept = {i: t for i, t in board.items() if t["order_status"] in ("paid", "in_preparation", "ready")}
    fresh = board_snapshot()
    assert fresh["seq"] == events[-1]["seq"]
    assert kept == {t["id"]: t for t in fresh["tickets"]}
    assert {t["order_id"] for t in kept.values()} == {still_cooking.pk}
