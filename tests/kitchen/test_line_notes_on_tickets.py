"""A line's note is on the ticket of the station that cooks that line, and on no other."""

from __future__ import annotations

import pytest
from django.urls import reverse

from orders.pricing import CartLine
from tests.api import app_for
from tests.conftest import client_for
from tests.kitchen.conftest import on_the_board

pytestmark = pytest.mark.django_db

GRILL_NOTE = "fries <b>extra</b> crispy"
BAR_NOTE = "no ice"


def _order_with_a_note_per_station(menu):  # type: ignore[no-untyped-def]
    return on_the_board(
        menu,
        [
            CartLine(menu.fries.pk, 1, note=GRILL_NOTE),
            CartLine(menu.lemonade.pk, 1, (menu.large.pk,), note=BAR_NOTE),
        ],
        instructions="birthday table",
    )


def test_each_station_board_shows_only_the_notes_of_its_own_lines(actors, kitchen, small_menu) -> None:
    _order_with_a_note_per_station(small_menu)
    chef = client_for(actors.chef)

    grill = chef.get(reverse("kitchen:station", args=["grill"])).content.decode()
    bar = chef.get(reverse("kitchen:station", args=["bar"])).content.decode()

    assert 'data-line-field="note">fries &lt;b&gt;extra&lt;/b&gt; crispy</em>' in grill
    assert BAR_NOTE not in grill
    assert 'data-line-field="note">no ice</em>' in bar
    assert "crispy" not in bar
    # The whole order's note stays on every ticket.
    assert "birthday table" in grill and "birthday table" in bar


def test_the_board_payload_carries_each_lines_note_to_its_station(actors, kitchen, small_menu) -> None:
    _order_with_a_note_per_station(small_menu)

    tickets = app_for(actors.chef).get("/api/v1/kitchen/tickets/").json()["tickets"]

    notes = {t["station"]: [line["note"] for line in t["lines"]] for t in tickets}
    assert notes == {"grill": [GRILL_NOTE], "bar": [BAR_NOTE]}
