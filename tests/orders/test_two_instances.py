"""Several web instances: an order paid through one daphne reaches the sockets held by another,
the customer's order page and the kitchen board alike."""

from __future__ import annotations

import json

import pytest
import requests
from django.test import Client
from websockets.sync.client import connect

from accounts.roles import Actor
from orders.models import OrderStatus
from orders.payments.base import PAYMENT_SUCCEEDED
from orders.payments.sandbox import SIGNATURE_HEADER, sandbox_event_body, sandbox_sign
from orders.payments.services import payment_start
from orders.pricing import CartLine
from orders.services import OrderDetails, order_place
from tests.harness import daphne as daphne_harness
from tests.harness import worker as worker_harness

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.django_db(transaction=True)]

daphne_instance = daphne_harness.daphne_instance
celery_worker = worker_harness.celery_worker


def test_an_order_paid_through_instance_a_reaches_the_order_page_and_the_board_on_instance_b(
    small_menu, actors, daphne_instance, celery_worker
):
    # Given an order waiting for its payment, two web instances and a worker
    order, _ = order_place(
        lines=[CartLine(small_menu.fries.pk, 1)],
        details=OrderDetails(order_type="pickup", contact_name="Ada", contact_email="ada@example.test"),
        actor=Actor.guest(),
    )
    payment = payment_start(order=order, return_url="http://127.0.0.1/")
    worker = celery_worker()
    instance_a, instance_b = daphne_instance(), daphne_instance()

    def explain() -> str:
        return f"A:\n{instance_a.log()}\nB:\n{instance_b.log()}\nworker:\n{worker.explain()}"

    # And the customer's page and a chef's board follow through instance B
    session = Client()
    session.force_login(actors.chef, backend="django.contrib.auth.backends.ModelBackend")
    with (
        connect(
            f"{instance_b.ws_url}/ws/orders/{order.tracking_token}/", origin=instance_b.url, open_timeout=10
        ) as socket,
        connect(
            f"{instance_b.ws_url}/ws/kitchen/",
            origin=instance_b.url,
            additional_headers={"Cookie": f"sessionid={session.cookies['sessionid'].value}"},
            open_timeout=10,
        ) as board,
    ):
        snapshot = json.loads(socket.recv(timeout=10))
        assert snapshot["type"] == "order.snapshot", explain()
        board_snapshot = json.loads(board.recv(timeout=10))
        assert board_snapshot["type"] == "board.snapshot", explain()

        # When the provider's webhook reaches instance A
        body = sandbox_event_body(
            reference=payment.provider_ref, event_type=PAYMENT_SUCCEEDED, amount_minor=400
        )
        answer = requests.post(
            f"{instance_a.url}/webhooks/payments/sandbox/",
            data=body,
            headers={"Content-Type": "application/json", SIGNATURE_HEADER: sandbox_sign(body)},
            timeout=10,
        )
        assert answer.json()["outcome"] == "order_paid", answer.text

        # Then both sockets on instance B hear of it, next in sequence
        try:
            event = json.loads(socket.recv(timeout=20))
            tickets = json.loads(board.recv(timeout=20))
        except TimeoutError as error:
            raise AssertionError("no live event on instance B\n" + explain()) from error

    assert event["type"] == "order.status"
    assert event["status"] == OrderStatus.PAID
    assert event["seq"] == snapshot["seq"] + 1
    assert tickets["type"] == "board.tickets"
    assert tickets["seq"] == board_snapshot["seq"] + 1
    assert [t["order_id"] for t in tickets["tickets"]] == [order.pk]
    assert tickets["tickets"][0]["lines"] == [{"name": "Fries", "quantity": 1, "modifiers": "", "note": ""}]
