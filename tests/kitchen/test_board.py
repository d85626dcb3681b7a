"""The kitchen board over HTTP: tickets per station, start / bump / recall, and the order following them."""

from __future__ import annotations

import pytest
from django.urls import reverse

from accounts.roles import Actor
from kitchen.models import Ticket, TicketStatus
from kitchen.services import tickets_create_for_order, tickets_void_for_order
from orders.models import OrderStatus
from orders.pricing import CartLine
from orders.services import order_transition
from tests.conftest import client_for
from tests.kitchen.conftest import TILL, on_the_board, pay, place

pytestmark = pytest.mark.django_db

JSON = {"HTTP_ACCEPT": "application/json"}


def _move(client, ticket: Ticket, move: str, **extra):
    ticket.refresh_from_db()
    data = {"move": move, "version": ticket.version, **extra}
    return client.post(reverse("kitchen:ticket_move", args=[ticket.pk]), data, **JSON)


def test_a_paid_order_becomes_one_ticket_per_station(kitchen, small_menu):
    order = on_the_board(
        small_menu,
        [CartLine(small_menu.fries.pk, 2), CartLine(small_menu.lemonade.pk, 1, (small_menu.large.pk,))],
    )

    tickets = {t.station.slug: t for t in order.tickets.all()}

    assert set(tickets) == {"grill", "bar"}
    assert [line.name for line in tickets["grill"].lines.all()] == ["Fries"]
    assert [line.name for line in tickets["bar"].lines.all()] == ["Lemonade"]
    assert all(t.status == TicketStatus.NEW for t in tickets.values())


def test_order_paid_published_twice_makes_one_set_of_tickets(kitchen, small_menu):
    order = on_the_board(small_menu)

    assert tickets_create_for_order(order_id=order.pk) == []
    assert order.tickets.count() == 1


def test_an_unpaid_order_never_reaches_the_kitchen(kitchen, small_menu):
    order = place(small_menu)

    assert tickets_create_for_order(order_id=order.pk) == []
    assert not Ticket.objects.exists()


def test_paying_publishes_tickets_through_the_outbox(
    kitchen, small_menu, eager_tasks, django_capture_on_commit_callbacks
):
    order = place(small_menu)

    with django_capture_on_commit_callbacks(execute=True):
        pay(order)

    assert order.tickets.count() == 1


def test_start_bump_and_recall_move_the_order_with_its_tickets(kitchen, small_menu, actors):
    order = on_the_board(
        small_menu,
        [CartLine(small_menu.fries.pk, 1), CartLine(small_menu.lemonade.pk, 1, (small_menu.large.pk,))],
    )
    grill = order.tickets.get(station=kitchen.grill)
    bar = order.tickets.get(station=kitchen.bar)
    chef = client_for(actors.chef)

    def status():
        order.refresh_from_db()
        return order.status

    assert _move(chef, grill, "start").status_code == 200
    assert status() == OrderStatus.IN_PREPARATION
    assert _move(chef, grill, "bump").status_code == 200
    assert status() == OrderStatus.IN_PREPARATION  # the bar still has its part
    answer = _move(chef, bar, "bump")  # straight from new: a drink needs no start
    assert answer.status_code == 200
    assert answer.json()["ticket"]["status"] == "bumped"
    assert answer.json()["ticket"]["order_status"] == "ready"
    assert status() == OrderStatus.READY
    assert _move(chef, bar, "recall").status_code == 200
    assert status() == OrderStatus.IN_PREPARATION
    assert [e.to_status for e in order.events.all()][-4:] == [
        "paid",
        "in_preparation",
        "ready",
        "in_preparation",
    ]
    assert order.events.last().actor == actors.chef


def test_a_second_bump_of_the_same_ticket_is_a_conflict(kitchen, small_menu, actors):
    ticket = on_the_board(small_menu).tickets.get()
    chef = client_for(actors.chef)
    stale_version = ticket.version
    assert _move(chef, ticket, "bump").status_code == 200

    again = chef.post(
        reverse("kitchen:ticket_move", args=[ticket.pk]), {"move": "bump", "version": stale_version}, **JSON
    )

    assert again.status_code == 409
    assert again.json()["error"]["code"] == "stale_ticket"
    ticket.refresh_from_db()
    assert ticket.version == stale_version + 1


def test_a_form_post_without_scripts_redirects_back_to_the_station(kitchen, small_menu, actors):
    ticket = on_the_board(small_menu).tickets.get()

    answer = client_for(actors.chef).post(
        reverse("kitchen:ticket_move", args=[ticket.pk]), {"move": "start", "version": 1, "board": "grill"}
    )

    assert answer.status_code == 302
    assert answer["Location"] == reverse("kitchen:station", args=["grill"])


def test_a_stale_form_post_shows_the_board_with_the_reason(kitchen, small_menu, actors):
    ticket = on_the_board(small_menu).tickets.get()

    answer = client_for(actors.chef).post(
        reverse("kitchen:ticket_move", args=[ticket.pk]), {"move": "recall", "version": 1}
    )

    assert answer.status_code == 409
    assert "moved on already" in answer.content.decode()


@pytest.mark.parametrize(
    "data",
    [
        {"move": "explode", "version": 1},
        {"move": "bump", "version": "abc"},
        {"move": "bump", "version": 0},
        {"move": "bump"},
        {"move": "bump", "version": 1, "price": 0},
    ],
)
def test_bad_moves_are_refused_with_a_stable_error_and_change_nothing(kitchen, small_menu, actors, data):
    ticket = on_the_board(small_menu).tickets.get()

    answer = client_for(actors.chef).post(reverse("kitchen:ticket_move", args=[ticket.pk]), data, **JSON)

    assert answer.status_code == 400
    assert answer.json()["error"]["code"] == "invalid_move"
    ticket.refresh_from_db()
    assert (ticket.status, ticket.version) == (TicketStatus.NEW, 1)


def test_an_unknown_ticket_is_not_found(kitchen, actors):
    answer = client_for(actors.chef).post(
        reverse("kitchen:ticket_move", args=[999999]), {"move": "bump", "version": 1}, **JSON
    )

    assert answer.status_code == 404
    assert answer.json()["error"]["code"] == "ticket_not_found"


@pytest.mark.parametrize(("who", "status"), [("customer", 403), ("waiter", 403), ("manager", 200)])
def test_only_the_kitchen_moves_tickets(kitchen, small_menu, actors, who, status):
    ticket = on_the_board(small_menu).tickets.get()

    assert _move(client_for(getattr(actors, who)), ticket, "start").status_code == status


def test_a_refunded_order_leaves_the_board_and_cannot_be_bumped(kitchen, small_menu, actors):
    order = on_the_board(small_menu)
    ticket = order.tickets.get()
    order_transition(order=order, to_status=OrderStatus.REFUNDED, actor=TILL)

    assert tickets_void_for_order(order_id=order.pk) == 1
    answer = _move(client_for(actors.chef), ticket, "bump")

    assert answer.status_code == 409
    page = client_for(actors.chef).get(reverse("kitchen:board")).content.decode()
    assert f'data-ticket="{ticket.pk}"' not in page


def test_a_served_order_cannot_be_recalled(kitchen, small_menu, actors):
    order = on_the_board(small_menu)
    ticket = order.tickets.get()
    chef = client_for(actors.chef)
    _move(chef, ticket, "bump")
    order.refresh_from_db()
    order_transition(order=order, to_status=OrderStatus.COMPLETED, actor=Actor.for_user(actors.waiter))

    answer = _move(chef, ticket, "recall")

    assert answer.status_code == 409
    assert answer.json()["error"]["code"] == "order_left_kitchen"


# ------------------------------------------------------------------ the page


@pytest.mark.parametrize(
    ("who", "status"), [("chef", 200), ("manager", 200), ("waiter", 403), ("customer", 403)]
)
def test_only_chefs_and_managers_open_the_board(actors, kitchen, who, status):
    assert client_for(getattr(actors, who)).get(reverse("kitchen:board")).status_code == status


def test_anonymous_visitors_are_sent_to_sign_in(client):
    response = client.get(reverse("kitchen:board"))
    assert response.status_code == 302
    assert reverse("account_login") in response["Location"]


def test_expo_shows_every_station_and_a_station_only_its_own(kitchen, small_menu, actors):
    order = on_the_board(
        small_menu,
        [CartLine(small_menu.fries.pk, 2), CartLine(small_menu.lemonade.pk, 1, (small_menu.large.pk,))],
    )
    grill = order.tickets.get(station=kitchen.grill)
    bar = order.tickets.get(station=kitchen.bar)
    chef = client_for(actors.chef)

    expo = chef.get(reverse("kitchen:board")).content.decode()
    at_the_bar = chef.get(reverse("kitchen:station", args=["bar"])).content.decode()

    assert f'data-ticket="{grill.pk}"' in expo and f'data-ticket="{bar.pk}"' in expo
    assert f'data-ticket="{bar.pk}"' in at_the_bar and f'data-ticket="{grill.pk}"' not in at_the_bar
    assert "Table 7" in expo
    assert chef.get(reverse("kitchen:station", args=["nowhere"])).status_code == 404


def test_the_board_counts_what_is_pending_all_day_by_item_and_modifier(kitchen, small_menu, actors):
    m = small_menu
    on_the_board(m, [CartLine(m.fries.pk, 2), CartLine(m.burger.pk, 1, (m.medium.pk,))])
    on_the_board(m, [CartLine(m.fries.pk, 3), CartLine(m.burger.pk, 2, (m.medium.pk,))])
    on_the_board(m, [CartLine(m.burger.pk, 1, (m.rare.pk,))])

    page = client_for(actors.chef).get(reverse("kitchen:board")).content.decode()

    assert '<li><span class="name">Fries</span> <strong>× 5</strong></li>' in page
    assert '<li><span class="name">Burger · Medium</span> <strong>× 3</strong></li>' in page
    assert '<li><span class="name">Burger · Rare</span> <strong>× 1</strong></li>' in page
    assert 'All day <span class="all-day-total" data-all-day-total>(3)</span>' in page


def test_special_instructions_are_shown_as_text_not_markup(kitchen, small_menu, actors):
    on_the_board(small_menu, instructions="<img src=x onerror=alert(1)>")

    page = client_for(actors.chef).get(reverse("kitchen:board")).content.decode()

    assert "<img src=x onerror=alert(1)>" not in page
    assert "&lt;img src=x onerror=alert(1)&gt;" in page


def test_special_instructions_are_text_in_the_ticket_admin(kitchen, small_menu, actors):
    ticket = on_the_board(small_menu, instructions="<img src=x onerror=alert(1)>").tickets.get()

    page = client_for(actors.manager).get(reverse("admin:kitchen_ticket_change", args=[ticket.pk]))

    assert page.status_code == 200
    assert "<img src=x onerror=alert(1)>" not in page.content.decode()
    assert "&lt;img src=x onerror=alert(1)&gt;" in page.content.decode()


def test_managers_set_station_thresholds_and_routes_in_admin(kitchen, small_menu, actors):
    manager = client_for(actors.manager)

    assert manager.get(reverse("admin:kitchen_station_changelist")).status_code == 200
    page = manager.get(reverse("admin:kitchen_station_change", args=[kitchen.bar.pk]))
    assert page.status_code == 200
    assert "warn_after_minutes" in page.content.decode()
    assert client_for(actors.chef).get(reverse("admin:kitchen_station_changelist")).status_code == 302


def test_making_tickets_costs_the_same_queries_for_one_station_or_two(kitchen, small_menu):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def queries_to_make(lines: list[CartLine]) -> int:
        order = pay(place(small_menu, lines))
        # Paying made them; made again from scratch, the way a retry after a failed recorder does.
        Ticket.objects.filter(order=order).delete()
        with CaptureQueriesContext(connection) as captured:
            tickets_create_for_order(order_id=order.pk)
        return len(captured.captured_queries)

    one_station = queries_to_make([CartLine(small_menu.fries.pk, 2)])
    two_stations = queries_to_make(
        [CartLine(small_menu.fries.pk, 2), CartLine(small_menu.lemonade.pk, 1, (small_menu.large.pk,))]
    )

    # The board waits on these: no query per ticket or per line.
    assert one_station == two_stations
