"""The same provider event five times, two at the same moment: one change, one email."""

from __future__ import annotations

import pytest
from django.core import mail

from accounts.roles import Actor
from orders.models import OrderStatus, Partner, PartnerDelivery, PaymentWebhookEvent
from orders.payments.base import PAYMENT_SUCCEEDED, ProviderEvent
from orders.payments.services import payment_start, payment_webhook_handle
from orders.pricing import CartLine
from orders.services import OrderDetails, order_place
from tests.concurrency import run_simultaneously
from tests.harness import webhook_receiver as receiver_module

webhook_receiver = receiver_module.webhook_receiver

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("eager_tasks"),
]


def test_five_deliveries_of_one_event_two_of_them_concurrent_change_the_order_once(
    small_menu, webhook_receiver
):
    Partner.objects.create(name="Rapid Riders", url=webhook_receiver.url, events=["order.paid"])
    order, _ = order_place(
        lines=[CartLine(small_menu.fries.pk, 1)],
        details=OrderDetails(order_type="pickup", contact_name="Ada", contact_email="ada@example.test"),
        actor=Actor.guest(),
    )
    payment_start(order=order, return_url="http://testserver/")
    event = ProviderEvent(
        event_id="evt_same",
        type=PAYMENT_SUCCEEDED,
        provider_ref=order.payments.get().provider_ref,
        amount_minor=400,
        currency="EUR",
    )

    def deliver() -> str:
        return payment_webhook_handle(provider_name="sandbox", event=event)

    together = run_simultaneously(deliver, deliver)
    later = [deliver() for _ in range(3)]

    assert sorted(together) == ["duplicate", "order_paid"], together
    assert later == ["duplicate"] * 3
    order.refresh_from_db()
    assert order.status == OrderStatus.PAID
    assert order.events.filter(to_status=OrderStatus.PAID).count() == 1
    assert PaymentWebhookEvent.objects.count() == 1
    assert len(mail.outbox) == 1
    assert PartnerDelivery.objects.count() == 1
    assert len(webhook_receiver.wait_for(1, timeout=10)) == 1
