"""Every outbox payload fits its topic's one schema (orders/events.py, orders/floor/events.py,
kitchen/events.py).

Live messages are checked in every socket test as they arrive (tests/sockets.py).
"""

from __future__ import annotations

import pytest
from django.urls import reverse

from accounts.roles import Actor
from kitchen.events import TOPICS as KITCHEN_TOPICS
from menu.services import menu_items_set_availability
from orders.events import TOPICS as ORDER_TOPICS
from orders.floor.events import TOPICS as FLOOR_TOPICS
from orders.models import OrderStatus, OutboxEvent
from orders.payments.sandbox import SIGNATURE_HEADER, sandbox_event_body, sandbox_sign
from orders.payments.services import payment_start
from orders.services import order_transition
from restaurant.schemas import schema_errors
from tests.conftest import client_for
from tests.kitchen.conftest import place
from tests.sockets import live_message_errors

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("eager_tasks")]

TOPICS: dict[str, type] = {**ORDER_TOPICS, **FLOOR_TOPICS, **KITCHEN_TOPICS}


def _post_paid(client, payment):
    """The provider's signed "payment succeeded", over HTTP as it arrives."""
    body = sandbox_event_body(
        reference=payment.provider_ref, event_type="payment.succeeded", amount_minor=payment.amount_minor
    )
    return client.post(
        "/webhooks/payments/sandbox/",
        data=body,
        content_type="application/json",
        headers={SIGNATURE_HEADER: sandbox_sign(body)},
    )


def _move(chef, ticket, move: str) -> None:
    ticket.refresh_from_db()
    answer = chef.post(
        reverse("kitchen:ticket_move", args=[ticket.pk]),
        {"move": move, "version": ticket.version},
        HTTP_ACCEPT="application/json",
    )
    assert answer.status_code == 200, answer.content


def test_every_payload_an_order_s_life_records_fits_its_topic_s_schema(
    kitchen, small_menu, actors, client, django_capture_on_commit_callbacks
):
    chef = client_for(actors.chef)
    # Given an order paid by the provider (its tickets are made when the payment is published),
    with django_capture_on_commit_callbacks(execute=True):
        served = place(small_menu)
        payment_start(order=served, return_url="http://testserver/")
        _post_paid(client, served.payments.get())
    ticket = served.tickets.get()
    # cooked, recalled, bumped again and handed over
    with django_capture_on_commit_callbacks(execute=True):
        for move in ("start", "bump", "recall", "bump"):
            _move(chef, ticket, move)
        served.refresh_from_db()
        order_transition(order=served, to_status=OrderStatus.COMPLETED, actor=Actor.for_user(actors.waiter))
        # and one paid at the till and refunded, and one called off unpaid
        refunded = order_transition(
            order=place(small_menu), to_status=OrderStatus.PAID, actor=Actor.system("test-till")
        )
        order_transition(order=refunded, to_status=OrderStatus.REFUNDED, actor=Actor.system("test-till"))
        order_transition(order=place(small_menu), to_status=OrderStatus.CANCELLED, actor=Actor.guest())
        # and the fries 86ed, which changes the boards' 86 list
        menu_items_set_availability(item_ids=[small_menu.fries.pk], available=False)

    events = list(OutboxEvent.objects.order_by("id"))
    # Then every topic of that life was recorded, and every payload fits its schema
    assert {e.topic for e in events} >= {
        "order.awaiting_payment",
        "order.paid",
        "order.in_preparation",
        "order.ready",
        "order.completed",
        "order.refunded",
        "order.cancelled",
        "kitchen.tickets",
        "kitchen.sold_out",
        "floor.orders",
    }
    for event in events:
        assert event.topic in TOPICS, f"no schema for topic {event.topic}"
        assert schema_errors(event.payload, TOPICS[event.topic]) == [], (event.topic, event.payload)


def test_a_payload_or_message_off_its_schema_is_caught():
    assert schema_errors({"from": "paid", "actor": "till"}, ORDER_TOPICS["order.ready"]) == ["$.seq: missing"]
    assert schema_errors({"seq": "3", "tickets": []}, KITCHEN_TOPICS["kitchen.tickets"]) == [
        "$.seq: expected int, got '3'"
    ]
    assert live_message_errors({"type": "order.status", "seq": 2, "status": "paid"}) == [
        "$.status_label: missing"
    ]
    assert live_message_errors({"type": "board.tickets", "seq": 1, "tickets": [], "extra": 1}) == [
        "$.extra: not in the schema"
    ]
    assert live_message_errors({"type": "board.sold_out", "seq": 4, "sold_out": [{"name": "Fries"}]}) == [
        "$.sold_out[0].why: missing"
    ]
    assert live_message_errors({"type": "board.moved"}) == ["no schema for {'type': 'board.moved'}"]
