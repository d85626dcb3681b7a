"""A note per line ("no onions"): typed on the item page, kept in the cart, placed on the order item.

Through the doors a customer uses (the item form, the cart, checkout, the
order page), the API, and admin; hostile notes are refused with a 400 and
change nothing, and a note with markup is shown as text everywhere.
"""

from __future__ import annotations

import pytest
from django.urls import reverse

from orders.models import LINE_NOTE_MAX_LENGTH, Order, OrderItem
from tests.api import api_error, app_for, post_json
from tests.conftest import client_for
from tests.orders.flows import add_to_cart, checkout, three_lines

pytestmark = pytest.mark.django_db

JSON = {"HTTP_ACCEPT": "application/json"}
SCRIPT_NOTE = '<script>alert("no onions")</script>'
ESCAPED_NOTE = "&lt;script&gt;alert(&quot;no onions&quot;)&lt;/script&gt;"
HOSTILE_NOTES = {
    "too long": "x" * (LINE_NOTE_MAX_LENGTH + 1),
    "NUL": "no\x00onions",
    "newline": "no\nonions",
    "bidi override": "no \u202eonions",
}


def _session_cart(client) -> list[dict]:
    return client.session.get("cart", [])


def test_a_note_follows_its_line_from_the_item_page_to_the_order(client, small_menu) -> None:
    # Given a customer who asks for a burger without onions and plain fries,
    response = add_to_cart(client, small_menu.burger, 1, [small_menu.medium], note="  no onions  ")
    assert response.status_code == 302
    add_to_cart(client, small_menu.fries, 2)

    # the cart and the checkout show the note on its line,
    cart = client.get(reverse("orders:cart")).content.decode()
    assert 'value="no onions"' in cart
    assert "Note: no onions" in client.get(reverse("orders:checkout")).content.decode()

    # and the order placed keeps it on that line only.
    assert checkout(client).status_code == 302
    order = Order.objects.get()
    assert {item.name: item.note for item in order.items.all()} == {"Burger": "no onions", "Fries": ""}
    assert "Note: no onions" in client.get(order.get_absolute_url()).content.decode()


def test_the_same_dish_with_another_note_is_another_line(client, small_menu) -> None:
    add_to_cart(client, small_menu.fries, 1, note="extra crispy")
    add_to_cart(client, small_menu.fries, 1)
    add_to_cart(client, small_menu.fries, 2, note="extra crispy")

    lines = sorted((line["note"], line["quantity"]) for line in _session_cart(client))

    assert lines == [("", 1), ("extra crispy", 3)]


def test_the_cart_changes_a_lines_note_and_keeps_it_when_only_the_quantity_is_sent(
    client, small_menu
) -> None:
    add_to_cart(client, small_menu.fries, 1, note="extra crispy")
    [line] = _session_cart(client)

    client.post(reverse("orders:cart_update"), {"line": line["id"], "quantity": 2, "note": "soft"})
    client.post(reverse("orders:cart_update"), {"line": line["id"], "quantity": 3})

    [line] = _session_cart(client)
    assert (line["quantity"], line["note"]) == (3, "soft")


@pytest.mark.parametrize("note", list(HOSTILE_NOTES.values()), ids=list(HOSTILE_NOTES))
def test_a_hostile_note_on_the_item_form_is_a_400_and_adds_nothing(client, small_menu, note) -> None:
    page = add_to_cart(client, small_menu.fries, 1, note=note)
    data = {"item": small_menu.fries.pk, "quantity": 1, "note": note}
    answer = client.post(reverse("orders:cart_add"), data, **JSON)

    assert page.status_code == 400
    assert answer.status_code == 400
    assert answer.json()["error"]["code"] == "invalid_form"
    assert _session_cart(client) == []


@pytest.mark.parametrize("note", list(HOSTILE_NOTES.values()), ids=list(HOSTILE_NOTES))
def test_a_hostile_note_on_the_cart_is_a_400_and_changes_nothing(client, small_menu, note) -> None:
    add_to_cart(client, small_menu.fries, 1, note="extra crispy")
    [line] = _session_cart(client)

    answer = client.post(
        reverse("orders:cart_update"), {"line": line["id"], "quantity": 2, "note": note}, **JSON
    )

    assert answer.status_code == 400
    assert answer.json()["error"]["code"] == "invalid_form"
    assert _session_cart(client) == [line]


def test_a_tampered_session_note_is_refused_at_checkout(client, small_menu) -> None:
    # The session is ours, but pricing is the last word on every door's line.
    add_to_cart(client, small_menu.fries, 1)
    session = client.session
    session["cart"][0]["note"] = "x" * 500
    session.save()

    response = checkout(client)

    assert response.status_code == 400
    assert not Order.objects.exists()


def test_a_note_with_markup_is_text_on_every_page(client, small_menu, actors) -> None:
    add_to_cart(client, small_menu.fries, 1, note=SCRIPT_NOTE)
    pages = [client.get(reverse("orders:cart")), client.get(reverse("orders:checkout"))]
    checkout(client)
    order = Order.objects.get()
    assert order.items.get().note == SCRIPT_NOTE
    pages.append(client.get(order.get_absolute_url()))
    pages.append(client_for(actors.manager).get(reverse("admin:orders_order_change", args=[order.pk])))

    for page in pages:
        html = page.content.decode()
        assert page.status_code == 200
        assert SCRIPT_NOTE not in html
        assert ESCAPED_NOTE in html


def test_an_app_sends_a_note_per_line_and_reads_it_back(actors, small_menu) -> None:
    body = three_lines(small_menu)
    body["lines"][2]["note"] = "no salt"

    response = post_json(app_for(actors.customer), "/api/v1/orders/", body)

    assert response.status_code == 201, response.content
    assert [line["note"] for line in response.json()["order"]["lines"]] == ["", "", "no salt"]
    assert OrderItem.objects.get(name="Fries").note == "no salt"


@pytest.mark.parametrize("note", [*HOSTILE_NOTES.values(), ["a"]], ids=[*HOSTILE_NOTES, "list"])
def test_a_hostile_note_over_the_api_is_a_400_and_places_nothing(actors, small_menu, note) -> None:
    body = three_lines(small_menu)
    body["lines"][0]["note"] = note

    error = api_error(post_json(app_for(actors.customer), "/api/v1/orders/", body), 400)

    assert error["code"] == "invalid"
    assert not Order.objects.exists()
