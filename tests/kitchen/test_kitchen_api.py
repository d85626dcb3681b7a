"""The board over the API: tickets by station for chefs, moves with the version seen, the board's 409s."""

from __future__ import annotations

import pytest

from kitchen.models import Ticket, TicketStatus
from orders.models import OrderStatus
from orders.pricing import CartLine
from restaurant.api.clients import ApiScope
from tests.api import api_error, app_for, partner_app, post_json
from tests.kitchen.conftest import on_the_board

pytestmark = pytest.mark.django_db

TICKETS = "/api/v1/kitchen/tickets/"


def _move(app, ticket: dict, move: str, version: int | None = None):
    return post_json(
        app, f"{TICKETS}{ticket['id']}/move/", {"move": move, "version": version or ticket["version"]}
    )


def test_a_chef_reads_the_board_by_station(actors, kitchen, small_menu):
    order = on_the_board(
        small_menu,
        [CartLine(small_menu.fries.pk, 1), CartLine(small_menu.lemonade.pk, 1, (small_menu.large.pk,))],
    )
    chef = app_for(actors.chef)

    everything = chef.get(TICKETS).json()
    bar = chef.get(TICKETS, {"station": "bar"}).json()

    assert {t["station"] for t in everything["tickets"]} == {"grill", "bar"}
    assert [t["station"] for t in bar["tickets"]] == ["bar"]
    assert bar["tickets"][0]["order_id"] == order.pk
    lemonade = {"name": "Lemonade", "quantity": 1, "modifiers": "Large", "note": ""}
    assert bar["tickets"][0]["lines"] == [lemonade]
    assert everything["seq"] >= 1
    assert {s["slug"] for s in everything["stations"]} >= {"grill", "bar"}
    assert api_error(chef.get(TICKETS, {"station": "no-such"}), 404)["code"] == "station_not_found"
    # Found by the schema fuzzer: a NUL byte reached PostgreSQL, which refuses it (a 500).
    assert api_error(chef.get(TICKETS, {"station": "gr\x00ill"}), 400)["code"] == "invalid"


def test_start_bump_and_recall_move_the_order_as_on_the_board(actors, kitchen, small_menu):
    order = on_the_board(small_menu)
    chef = app_for(actors.chef)
    ticket = chef.get(TICKETS).json()["tickets"][0]

    started = _move(chef, ticket, "start").json()
    order.refresh_from_db()
    assert started["status"] == TicketStatus.COOKING and order.status == OrderStatus.IN_PREPARATION

    bumped = _move(chef, started, "bump").json()
    order.refresh_from_db()
    assert bumped["status"] == TicketStatus.BUMPED and order.status == OrderStatus.READY

    recalled = _move(chef, bumped, "recall").json()
    order.refresh_from_db()
    assert recalled["status"] == TicketStatus.COOKING and order.status == OrderStatus.IN_PREPARATION


def test_a_second_tap_with_the_same_version_is_the_boards_409(actors, kitchen, small_menu):
    on_the_board(small_menu)
    chef = app_for(actors.chef)
    ticket = chef.get(TICKETS).json()["tickets"][0]

    assert _move(chef, ticket, "bump").status_code == 200
    again = _move(chef, ticket, "bump")

    assert api_error(again, 409)["code"] == "stale_ticket"
    assert Ticket.objects.get().version == ticket["version"] + 1


def test_only_the_kitchen_reads_and_moves_tickets(actors, kitchen, small_menu, partner_key):
    on_the_board(small_menu)
    ticket = app_for(actors.chef).get(TICKETS).json()["tickets"][0]

    for name in ("customer", "waiter"):
        app = app_for(getattr(actors, name))
        assert api_error(app.get(TICKETS), 403)["code"] == "forbidden"
        assert api_error(_move(app, ticket, "start"), 403)["code"] == "forbidden"
    key = partner_app(partner_key(*ApiScope.values))
    assert api_error(key.get(TICKETS), 403)["code"] == "key_not_accepted"
    assert Ticket.objects.get().status == TicketStatus.NEW


@pytest.mark.parametrize(
    "body",
    [
        {"move": "explode", "version": 1},
        {"move": "bump"},
        {"move": "bump", "version": "one"},
        {"move": "bump", "version": 2**40},
        {"move": "bump", "version": 1, "status": "bumped"},
        {"move": ["bump"] * 1000, "version": 1},
        [],
    ],
    ids=[
        "unknown move",
        "no version",
        "version as text",
        "huge version",
        "unknown field",
        "huge array",
        "array",
    ],
)
def test_a_hostile_move_is_a_400_and_changes_nothing(actors, kitchen, small_menu, body):
    on_the_board(small_menu)
    ticket = Ticket.objects.get()

    response = post_json(app_for(actors.chef), f"{TICKETS}{ticket.pk}/move/", body)

    assert api_error(response, 400)["code"] == "invalid"
    assert Ticket.objects.get().version == ticket.version


def test_a_ticket_that_does_not_exist_is_a_404(actors, kitchen):
    response = post_json(app_for(actors.chef), f"{TICKETS}999999/move/", {"move": "bump", "version": 1})

    assert api_error(response, 404)["code"] == "ticket_not_found"
