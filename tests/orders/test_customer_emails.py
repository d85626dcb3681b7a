"""The customer's emails: the receipt when paid, "ready" for a pickup, and each refund with its amount.

Each goes out once, through the outbox and a task (eager here; a real
worker and SMTP receiver at the end), in our own words for an address
nobody proved.
"""

from __future__ import annotations

import re
from contextlib import nullcontext
from decimal import Decimal

import pytest
from allauth.account.models import EmailAddress
from django.core import mail
from django.urls import reverse

from accounts.roles import Actor
from kitchen.models import Ticket
from orders.events import REFUND_SUCCEEDED_TOPIC, TOPICS
from orders.models import Order, OrderStatus, OutboxEvent, Payment, PaymentStatus, Refund
from orders.pricing import vat_included
from orders.services import order_transition
from orders.tasks import send_refund_email
from restaurant.schemas import schema_errors
from tests.conftest import client_for
from tests.harness import smtp as smtp_harness
from tests.harness import worker as worker_harness
from tests.harness.worker import wait_until
from tests.kitchen.conftest import kitchen  # noqa: F401 - the stations, as fixture
from tests.orders.flows import add_to_cart, checkout

TILL = Actor.system("test-till")
HOSTILE_NOTE = "Call 0800 666 now http://evil.example"


def _ordered(client, menu, *, order_type: str = "pickup", **details) -> Order:  # type: ignore[no-untyped-def]
    add_to_cart(client, menu.burger, 2, [menu.medium], note=HOSTILE_NOTE)
    add_to_cart(client, menu.lemonade, 1, [menu.large])
    response = checkout(client, order_type=order_type, contact_email="ada@example.test", **details)
    assert response.status_code == 302, response.content.decode()[:1000]
    return Order.objects.latest("pk")


def _paid_online(order: Order, capture) -> Order:  # type: ignore[no-untyped-def]
    with capture(execute=True):
        Payment.objects.filter(order=order).update(
            status=PaymentStatus.SUCCEEDED, received_minor=order.total_minor
        )
        return order_transition(order=order, to_status=OrderStatus.PAID, actor=Actor.system("payments"))


def _move_all(chef, order: Order, move: str, capture) -> None:  # type: ignore[no-untyped-def]
    with capture(execute=True):
        for ticket in Ticket.objects.filter(order=order).order_by("pk"):
            answer = chef.post(
                reverse("kitchen:ticket_move", args=[ticket.pk]),
                {"move": move, "version": ticket.version},
                HTTP_ACCEPT="application/json",
            )
            assert answer.status_code == 200, answer.content


def _refund(manager, order: Order, amount: str, reason: str, capture=None):  # type: ignore[no-untyped-def]
    changelist = reverse("admin:orders_order_changelist")
    form = {"action": "refund_order", "_selected_action": [order.pk]}
    page = manager.post(changelist, form).content.decode()
    token = re.search(r'name="token" value="([0-9a-f-]{36})"', page).group(1)
    # A real transaction (the worker's test) commits by itself; otherwise its callbacks are run here.
    with capture(execute=True) if capture else nullcontext():
        done = manager.post(
            changelist, {**form, "apply": "1", "amount": amount, "reason": reason, "token": token}
        )
    assert done.status_code == 302


@pytest.mark.parametrize("percent", ["13.5", "23", "0"])
@pytest.mark.django_db
@pytest.mark.usefixtures("eager_tasks")
def test_the_receipt_lists_the_lines_the_vat_included_and_the_payment(
    percent, client, small_menu, settings, django_capture_on_commit_callbacks
) -> None:
    settings.BRIGADE_VAT_PERCENT = Decimal(percent)
    order = _ordered(client, small_menu)  # 2 × 12.00 + 4.50 = 28.50

    _paid_online(order, django_capture_on_commit_callbacks)

    [receipt] = mail.outbox
    assert f"order {order.number} confirmed: your receipt" in receipt.subject
    assert "2 x Burger (Medium)  €24.00" in receipt.body
    assert "1 x Lemonade (Large)  €4.50" in receipt.body
    assert "Total: €28.50" in receipt.body
    vat = {"13.5": "€3.39", "23": "€5.33", "0": "€0.00"}[percent]
    assert f"Includes VAT at {percent}%: {vat}" in receipt.body
    assert "Paid by sandbox test payment: €28.50" in receipt.body
    # A guest's address is nobody's proven one: their line note stays out of it.
    assert "evil.example" not in receipt.body


def test_vat_included_rounds_half_up_to_the_minor_unit(settings) -> None:
    settings.BRIGADE_VAT_PERCENT = Decimal("13.5")
    assert vat_included(2850) == 339  # 338.77…
    assert vat_included(0) == 0
    settings.BRIGADE_VAT_PERCENT = Decimal("25")
    assert vat_included(250) == 50


@pytest.mark.django_db
@pytest.mark.usefixtures("eager_tasks")
def test_money_taken_in_person_says_so_on_the_receipt(
    client, small_menu, actors, floor_tables, django_capture_on_commit_callbacks
) -> None:
    waiter = client_for(actors.waiter)
    order = _ordered(waiter, small_menu, order_type="dine_in", table_number="4")
    assert order.placed_by == actors.waiter

    with django_capture_on_commit_callbacks(execute=True):
        order_transition(order=order, to_status=OrderStatus.PAID, actor=TILL)

    [receipt] = mail.outbox
    assert "Paid in person: €28.50" in receipt.body


@pytest.mark.django_db
@pytest.mark.usefixtures("eager_tasks", "kitchen")
def test_a_pickup_order_bumped_ready_is_told_once_even_after_a_recall(
    client, small_menu, actors, django_capture_on_commit_callbacks
) -> None:
    order = _paid_online(_ordered(client, small_menu), django_capture_on_commit_callbacks)
    mail.outbox.clear()
    chef = client_for(actors.chef)

    _move_all(chef, order, "start", django_capture_on_commit_callbacks)
    assert mail.outbox == []
    _move_all(chef, order, "bump", django_capture_on_commit_callbacks)
    _move_all(chef, order, "recall", django_capture_on_commit_callbacks)
    _move_all(chef, order, "bump", django_capture_on_commit_callbacks)

    [ready] = mail.outbox
    assert ready.to == ["ada@example.test"]
    assert f"order {order.number} is ready for pickup" in ready.subject
    assert order.get_absolute_url() in ready.body
    order.refresh_from_db()
    assert order.status == OrderStatus.READY and order.ready_sent_at is not None


@pytest.mark.django_db
@pytest.mark.usefixtures("eager_tasks", "kitchen")
def test_a_delivery_order_ready_at_the_pass_gets_no_pickup_email(
    client, small_menu, actors, django_capture_on_commit_callbacks
) -> None:
    order = _ordered(
        client,
        small_menu,
        order_type="delivery",
        delivery_address="1 Quay Street",
        contact_phone="+353 1 555 0100",
    )
    order = _paid_online(order, django_capture_on_commit_callbacks)
    mail.outbox.clear()
    chef = client_for(actors.chef)

    _move_all(chef, order, "start", django_capture_on_commit_callbacks)
    _move_all(chef, order, "bump", django_capture_on_commit_callbacks)

    order.refresh_from_db()
    assert order.status == OrderStatus.READY
    assert mail.outbox == []


@pytest.mark.django_db
@pytest.mark.usefixtures("eager_tasks")
def test_each_refund_is_told_with_its_amount_once(
    client, small_menu, actors, django_capture_on_commit_callbacks
) -> None:
    order = _paid_online(_ordered(client, small_menu), django_capture_on_commit_callbacks)
    mail.outbox.clear()
    manager = client_for(actors.manager)

    _refund(
        manager, order, "5.50", "Cold fries, call http://evil.example", django_capture_on_commit_callbacks
    )
    _refund(manager, order, "23.00", "Customer left", django_capture_on_commit_callbacks)

    first, second = mail.outbox
    assert f"order {order.number} refund" in first.subject
    assert "we have refunded €5.50 for order" in first.body
    assert "all you paid" not in first.body
    assert "we have refunded €23.00" in second.body and "that is all you paid" in second.body
    assert all("evil.example" not in message.body for message in mail.outbox)
    # Each confirmed refund was one event of its own schema,
    events = OutboxEvent.objects.filter(topic=REFUND_SUCCEEDED_TOPIC).order_by("pk")
    assert [event.payload["refund_id"] for event in events] == list(
        Refund.objects.order_by("pk").values_list("pk", flat=True)
    )
    assert all(schema_errors(event.payload, TOPICS[event.topic]) == [] for event in events)
    # and the event published again (the sweep after a crash) tells no one twice.
    for refund in Refund.objects.all():
        assert send_refund_email.delay(refund.pk).get() is False
    assert len(mail.outbox) == 2


# ---------------------------------------------------------------- on a real worker and SMTP relay

celery_worker = worker_harness.celery_worker
smtp_sink = smtp_harness.smtp_sink


@pytest.mark.postgres
@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("kitchen")
def test_receipt_ready_and_refund_reach_the_relay_through_the_worker(
    client, live_server, settings, small_menu, actors, celery_worker, smtp_sink
) -> None:
    worker = celery_worker(smtp_sink)
    settings.SANDBOX_WEBHOOK_URL = live_server.url + "/webhooks/payments/sandbox/"

    # A guest orders a pickup and approves the test payment
    add_to_cart(client, small_menu.fries, 2)
    to_provider = checkout(client, contact_email="grace@example.test")
    client.post(to_provider["Location"], {"outcome": "approve"})
    order = Order.objects.get()

    def mails(count: int, what: str) -> None:
        wait_until(
            lambda: len(smtp_sink.messages) >= count or None, timeout=30, what=what, explain=worker.explain
        )

    mails(1, "the receipt")
    assert "Includes VAT at 13.5%: €0.95" in smtp_sink.messages[0].message.get_content()

    # the kitchen cooks it and bumps it: ready
    chef = client_for(actors.chef)
    for move in ("start", "bump"):
        ticket = Ticket.objects.get(order=order)
        chef.post(reverse("kitchen:ticket_move", args=[ticket.pk]), {"move": move, "version": ticket.version})
    mails(2, "the ready email")
    assert "is ready for pickup" in smtp_sink.messages[1].message["Subject"]

    # and a manager refunds part of it
    assert Payment.objects.get(order=order).status == PaymentStatus.SUCCEEDED
    _refund(client_for(actors.manager), order, "2.00", "one portion cold")
    mails(3, "the refund email")
    assert "we have refunded €2.00" in smtp_sink.messages[2].message.get_content()
    assert [m.rcpt_tos for m in smtp_sink.messages] == [("grace@example.test",)] * 3


@pytest.mark.django_db
@pytest.mark.usefixtures("eager_tasks")
def test_a_customers_own_verified_address_gets_their_line_notes_on_the_receipt(
    small_menu, actors, django_capture_on_commit_callbacks
) -> None:
    customer = actors.customer
    EmailAddress.objects.create(user=customer, email="casey@example.test", verified=True, primary=True)
    order = _ordered(client_for(customer), small_menu)
    Order.objects.filter(pk=order.pk).update(contact_email="casey@example.test")

    _paid_online(order, django_capture_on_commit_callbacks)

    [receipt] = mail.outbox
    assert f"2 x Burger (Medium)  €24.00\n   Note: {HOSTILE_NOTE}\n" in receipt.body
