"""A delivery partner's whole journey over the API, on real services and a real Celery worker.

The partner places an order with its key, the customer pays in the sandbox,
the board shows the order, a chef bumps it over the API, and the partner
receives both signed webhooks (paid, ready).
"""

from __future__ import annotations

import json

import pytest
from django.test import Client

from orders.models import Order, OrderStatus
from orders.partners.services import SIGNATURE_HEADER, verify
from restaurant.api.clients import ApiScope
from tests.api import app_for, partner_app, post_json
from tests.conftest import client_for
from tests.harness import smtp as smtp_harness
from tests.harness import webhook_receiver as receiver_module
from tests.harness import worker as worker_harness
from tests.harness.worker import wait_until

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.django_db(transaction=True)]

celery_worker = worker_harness.celery_worker
smtp_sink = smtp_harness.smtp_sink
webhook_receiver = receiver_module.webhook_receiver


def test_a_partner_orders_the_customer_pays_a_chef_bumps_and_the_partner_hears_it_signed(
    live_server,
    settings,
    actors,
    small_menu,
    partner,
    partner_key,
    celery_worker,
    smtp_sink,
    webhook_receiver,
):
    # Given a partner listening for paid and ready orders, with a key that may place and read orders
    partner.url, partner.events = webhook_receiver.url, ["order.paid", "order.ready"]
    partner.save()
    riders = partner_app(partner_key(ApiScope.ORDERS_WRITE, ApiScope.ORDERS_READ))
    worker = celery_worker(smtp_sink)
    settings.SANDBOX_WEBHOOK_URL = live_server.url + "/webhooks/payments/sandbox/"

    # When the partner places an order for its customer
    placed = post_json(
        riders,
        "/api/v1/orders/",
        {
            "order_type": "delivery",
            "contact_name": "Dana",
            "contact_email": "dana@example.test",
            "contact_phone": "+353 1 555 0101",
            "delivery_address": "2 Dock Road, Galway",
            "lines": [{"item": small_menu.fries.pk, "quantity": 2}],
        },
        HTTP_IDEMPOTENCY_KEY="riders-0001",
    )
    assert placed.status_code == 201, placed.content
    number = placed.json()["order"]["number"]

    # And the customer pays on the sandbox's page it was given
    pay_page = placed.json()["payment_url"].removeprefix("http://testserver")
    assert Client().post(pay_page, {"outcome": "approve"}).status_code == 302
    wait_until(
        lambda: Order.objects.filter(pk=number, status=OrderStatus.PAID).first(),
        timeout=20,
        what="the order to be paid",
        explain=worker.explain,
    )

    # Then the board shows it, and a chef bumps its ticket over the API
    assert f"#{number}" in client_for(actors.chef).get("/kitchen/").content.decode()
    chef = app_for(actors.chef)
    ticket = next(
        t for t in chef.get("/api/v1/kitchen/tickets/").json()["tickets"] if t["order_id"] == number
    )
    bumped = post_json(
        chef, f"/api/v1/kitchen/tickets/{ticket['id']}/move/", {"move": "bump", "version": ticket["version"]}
    )
    assert bumped.json()["order_status"] == OrderStatus.READY

    # And the partner reads the status and receives both webhooks, signed with its secret
    assert riders.get(f"/api/v1/orders/{number}/").json()["status"] == OrderStatus.READY
    webhook_receiver.wait_for(2, timeout=30, explain=worker.explain)
    received = webhook_receiver.requests
    assert sorted(json.loads(r.body)["type"] for r in received) == ["order.paid", "order.ready"]
    for request in received:
        assert verify(partner.secret, request.header(SIGNATURE_HEADER), request.body)
        assert json.loads(request.body)["data"]["order"]["id"] == number
