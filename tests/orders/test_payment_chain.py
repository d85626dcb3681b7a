"""The whole money path on real services: place, pay in the sandbox, webhook, paid,
one confirmation email, and a signed partner webhook — through a real Celery worker."""

from __future__ import annotations

import json

import pytest

from orders.models import Order, OrderStatus, Partner
from orders.partners.services import SIGNATURE_HEADER, verify
from tests.harness import smtp as smtp_harness
from tests.harness import webhook_receiver as receiver_module
from tests.harness import worker as worker_harness
from tests.harness.worker import wait_until
from tests.orders.flows import add_to_cart, checkout

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.django_db(transaction=True)]

celery_worker = worker_harness.celery_worker
smtp_sink = smtp_harness.smtp_sink
webhook_receiver = receiver_module.webhook_receiver


def test_place_approve_webhook_paid_one_email_and_a_signed_partner_webhook(
    client, live_server, settings, small_menu, celery_worker, smtp_sink, webhook_receiver
):
    # Given a delivery partner listening for paid orders, and a worker running
    partner = Partner.objects.create(name="Rapid Riders", url=webhook_receiver.url, events=["order.paid"])
    worker = celery_worker(smtp_sink)
    # The sandbox delivers its webhook over HTTP to the running server.
    settings.SANDBOX_WEBHOOK_URL = live_server.url + "/webhooks/payments/sandbox/"

    # When a guest orders and approves the test payment
    add_to_cart(client, small_menu.burger, 1, [small_menu.medium, small_menu.bacon])
    to_provider = checkout(client, contact_email="grace@example.test")
    assert to_provider["Location"].startswith("/sandbox/pay/"), to_provider
    back = client.post(to_provider["Location"], {"outcome": "approve"})
    order = Order.objects.get()
    assert back["Location"] == order.get_absolute_url()

    # Then the provider's webhook marks the order paid
    wait_until(
        lambda: Order.objects.filter(pk=order.pk, status=OrderStatus.PAID).first(),
        timeout=20,
        what="the order to be paid",
        explain=worker.explain,
    )
    # And the worker sends one confirmation email and one signed partner webhook
    webhook_receiver.wait_for(1, timeout=30, explain=worker.explain)
    wait_until(
        lambda: len(smtp_sink.messages) == 1 or None, timeout=30, what="the email", explain=worker.explain
    )
    received = webhook_receiver.requests
    assert len(received) == 1
    assert verify(partner.secret, received[0].header(SIGNATURE_HEADER), received[0].body)
    body = json.loads(received[0].body)
    assert body["type"] == "order.paid"
    assert body["data"]["order"]["id"] == order.pk
    assert "grace@example.test" not in received[0].body.decode()
    mail = smtp_sink.messages[0]
    assert mail.rcpt_tos == ("grace@example.test",)
    assert f"order {order.number} confirmed" in mail.message["Subject"]
    order.refresh_from_db()
    assert order.confirmation_sent_at is not None
