"""Partner webhooks: signed, sent to subscribers only, retried, dead-lettered and resent from admin.

Tasks run eagerly (in this process); the partner is a real HTTP server on
127.0.0.1 that records what it receives and answers from a script. What the
broker and a real worker add (the growing delays between tries) is in
test_partner_worker.py.
"""

from __future__ import annotations

import json
import socket
import threading
import time

import pytest
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.urls import reverse

from accounts.roles import Actor, Role
from orders.models import (
    DeadLetter,
    Order,
    OrderStatus,
    OutboxEvent,
    Partner,
    PartnerDelivery,
    PartnerDeliveryStatus,
)
from orders.outbox.services import outbox_publish
from orders.partners.services import (
    SIGNATURE_HEADER,
    partner_delivery_attempt,
    partner_delivery_resend,
    verify,
)
from orders.partners.tasks import _partner_webhook_backoff
from orders.pricing import CartLine
from orders.services import OrderDetails, order_cancel, order_place, order_transition
from restaurant.signing import sign, signature_header
from tests.conftest import client_for
from tests.harness import webhook_receiver as receiver_module

webhook_receiver = receiver_module.webhook_receiver
allow_private_partner_urls = receiver_module.allow_private_partner_urls

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("eager_tasks")]

TILL = Actor.system("test-till")
CHEF = Actor(label="chef", roles=frozenset({Role.CHEF}))
ALL_TOPICS = ["order.paid", "order.ready", "order.cancelled"]
DELIVER = "orders.tasks.deliver_partner_webhook"


def _placed(menu, **details) -> Order:  # type: ignore[no-untyped-def]
    order, _ = order_place(
        lines=[CartLine(menu.burger.pk, 2, (menu.medium.pk, menu.bacon.pk)), CartLine(menu.fries.pk, 1)],
        details=OrderDetails(
            **{
                "order_type": "pickup",
                "contact_name": "Ada Lovelace",
                "contact_email": "ada@example.test",
                "contact_phone": "+353 1 555 0199",
                **details,
            }
        ),
        actor=Actor.guest(),
    )
    return order


def _partner(url: str, events: list[str] | None = None, **fields) -> Partner:  # type: ignore[no-untyped-def]
    return Partner.objects.create(
        name=fields.pop("name", "Rapid Riders"), url=url, events=events or ALL_TOPICS, **fields
    )


def _pay(order: Order, capture) -> Order:  # type: ignore[no-untyped-def]
    with capture(execute=True):
        return order_transition(order=order, to_status=OrderStatus.PAID, actor=TILL)


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


# ---------------------------------------------------------------- signing


def test_a_signature_verifies_with_the_partner_secret_and_nothing_else():
    body = b'{"id":"e1","type":"order.paid"}'
    now = int(time.time())
    header = signature_header("partner-secret", now, body)

    assert header == f"t={now},v1={sign('partner-secret', now, body)}"
    assert verify("partner-secret", header, body)
    assert verify("partner-secret", header, body.decode())
    # another partner's secret, a changed body, a changed timestamp
    assert not verify("other-secret", header, body)
    assert not verify("partner-secret", header, body.replace(b"paid", b"ready"))
    assert not verify("partner-secret", header.replace(f"t={now}", f"t={now + 1}"), body)
    # a recorded request played again later, or one dated in the future
    stale = signature_header("partner-secret", now - 301, body)
    assert not verify("partner-secret", stale, body)
    assert verify("partner-secret", stale, body, tolerance=400)
    assert not verify("partner-secret", signature_header("partner-secret", now + 301, body), body)
    # malformed headers are refused, never an exception
    for junk in ("", "t=abc,v1=00", f"t={now}", f"v1={sign('partner-secret', now, body)}", f"t={now},v1=é"):
        assert not verify("partner-secret", junk, body)
    # one matching v1 among several is enough (a change of secret)
    assert verify("partner-secret", f"t={now},v1={'0' * 64},v1={sign('partner-secret', now, body)}", body)


# ---------------------------------------------------------------- delivery


def test_a_paid_order_reaches_the_partner_signed_with_its_secret(
    small_menu, webhook_receiver, django_capture_on_commit_callbacks
):
    partner = _partner(webhook_receiver.url)
    order = _placed(small_menu)

    _pay(order, django_capture_on_commit_callbacks)

    [received] = webhook_receiver.requests
    assert received.path == "/hooks/brigade"
    assert received.header("Content-Type") == "application/json"
    assert received.header("User-Agent") == "Brigade-Webhooks/1"
    assert verify(partner.secret, received.header(SIGNATURE_HEADER), received.body)
    assert not verify("another-partner-secret", received.header(SIGNATURE_HEADER), received.body)

    body = json.loads(received.body)
    delivery = PartnerDelivery.objects.get()
    assert body["id"] == received.header("Brigade-Event-Id") == str(delivery.public_id)
    assert body["type"] == "order.paid"
    assert body["created"] == OutboxEvent.objects.get(topic="order.paid").created_at.isoformat()
    assert body["data"]["order"] == {
        "id": order.pk,
        "number": order.number,
        "status": "paid",
        "order_type": "pickup",
        "table_number": None,
        "items": [{"name": "Burger", "quantity": 2}, {"name": "Fries", "quantity": 1}],
        "created_at": order.created_at.isoformat(),
    }
    assert (delivery.status, delivery.attempts, delivery.last_status_code, delivery.last_error) == (
        PartnerDeliveryStatus.DELIVERED,
        1,
        200,
        "",
    )
    assert delivery.delivered_at is not None
    assert delivery.next_attempt_at is None


def test_the_body_never_carries_the_customers_email_phone_or_tracking_token(
    small_menu, floor_tables, webhook_receiver, django_capture_on_commit_callbacks
):
    _partner(webhook_receiver.url)
    order = _placed(small_menu, order_type="dine_in", table_number="12", special_instructions="no onions")

    _pay(order, django_capture_on_commit_callbacks)

    [received] = webhook_receiver.requests
    raw = received.body.decode()
    for secret in ("ada@example.test", "555 0199", "Ada Lovelace", order.tracking_token, "no onions"):
        assert secret not in raw
    assert "tracking" not in raw
    assert json.loads(raw)["data"]["order"]["table_number"] == "12"


def test_each_partner_gets_only_the_events_it_subscribed_to(
    small_menu, webhook_receiver, django_capture_on_commit_callbacks
):
    # Given three partners on the same receiver, told apart by path
    base = webhook_receiver.url
    _partner(base + "/paid", ["order.paid"], name="Paid only")
    _partner(base + "/kitchen", ["order.ready", "order.cancelled"], name="Ready and cancelled")
    _partner(base + "/off", ALL_TOPICS, name="Switched off", is_active=False)
    order = _placed(small_menu)
    unpaid = _placed(small_menu)
    called_off = _pay(_placed(small_menu), django_capture_on_commit_callbacks)

    # When one order is paid, cooked and ready, one paid order is called off
    # (refunded), and one is cancelled before anyone paid
    order = _pay(order, django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=True):
        order = order_transition(order=order, to_status=OrderStatus.IN_PREPARATION, actor=CHEF)
        order_transition(order=order, to_status=OrderStatus.READY, actor=CHEF)
        order_transition(
            order=called_off, to_status=OrderStatus.REFUNDED, actor=TILL, reason="kitchen closed"
        )
        order_cancel(order=unpaid, actor=TILL, reason="table left")

    # Then each partner heard of its topics only: a refunded paid order is the
    # partners' "order.cancelled"; an order never paid never reaches them
    received = sorted(
        (r.path.rsplit("/", 1)[-1], json.loads(r.body)["type"]) for r in webhook_receiver.requests
    )
    assert received == [
        ("kitchen", "order.cancelled"),
        ("kitchen", "order.ready"),
        ("paid", "order.paid"),
        ("paid", "order.paid"),
    ]
    assert PartnerDelivery.objects.count() == 4
    assert not PartnerDelivery.objects.filter(partner__is_active=False).exists()


def test_a_partner_failing_once_gets_the_same_event_again_and_it_is_delivered(
    small_menu, webhook_receiver, django_capture_on_commit_callbacks
):
    partner = _partner(webhook_receiver.url)
    webhook_receiver.answer(500, then=200)

    _pay(_placed(small_menu), django_capture_on_commit_callbacks)

    first, second = webhook_receiver.requests
    assert (first.answered, second.answered) == (500, 200)
    # the same event (id and body), each try signed afresh and validly
    assert first.body == second.body
    assert first.header("Brigade-Event-Id") == second.header("Brigade-Event-Id")
    assert all(verify(partner.secret, r.header(SIGNATURE_HEADER), r.body) for r in (first, second))
    delivery = PartnerDelivery.objects.get()
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == ("delivered", 2, 200)
    assert not DeadLetter.objects.exists()


def test_an_always_failing_partner_is_dead_lettered_shown_in_admin_and_resent_by_a_manager(
    small_menu, actors, webhook_receiver, django_capture_on_commit_callbacks
):
    # Given a partner whose endpoint keeps failing
    partner = _partner(webhook_receiver.url)
    webhook_receiver.answer(then=503)

    # When an order is paid, every try fails
    order = _pay(_placed(small_menu), django_capture_on_commit_callbacks)

    # Then it was tried the configured number of times, then given up on
    tries = settings.PARTNER_WEBHOOK_MAX_ATTEMPTS
    assert [r.answered for r in webhook_receiver.requests] == [503] * tries
    delivery = PartnerDelivery.objects.get()
    assert delivery.status == PartnerDeliveryStatus.FAILED
    assert (delivery.attempts, delivery.last_status_code) == (tries, 503)
    assert delivery.last_error == "HTTP 503 Service Unavailable"
    assert delivery.delivered_at is None
    letter = DeadLetter.objects.get()
    assert (letter.task_name, letter.args[0], letter.attempts) == (DELIVER, delivery.pk, tries)
    assert (
        letter.error == f"PartnerDeliveryError: partner delivery {delivery.pk}: HTTP 503 Service Unavailable"
    )
    assert partner.secret not in letter.error and webhook_receiver.url not in letter.error

    # And a manager sees it in the delivery log, among the failed ones, and on the partner's page
    manager = client_for(actors.manager)
    log = manager.get(reverse("admin:orders_partnerdelivery_changelist"), {"status__exact": "failed"})
    assert log.status_code == 200
    assert f"#{order.pk}" in log.content.decode()
    assert "HTTP 503 Service Unavailable" in log.content.decode()
    page = manager.get(reverse("admin:orders_partner_change", args=[partner.pk]))
    assert page.status_code == 200
    assert "Recent deliveries" in page.content.decode()
    assert "HTTP 503 Service Unavailable" in page.content.decode()
    assert partner.secret not in page.content.decode()
    detail = manager.get(reverse("admin:orders_partnerdelivery_change", args=[delivery.pk]))
    assert detail.status_code == 200

    # When the partner is back and the manager resends it
    webhook_receiver.answer(then=200)
    with django_capture_on_commit_callbacks(execute=True):
        response = manager.post(
            reverse("admin:orders_partnerdelivery_changelist"),
            {"action": "resend", "_selected_action": [delivery.pk]},
        )

    # Then it is delivered, once, with the same event id, and its dead letter is settled
    assert response.status_code == 302
    last = webhook_receiver.requests[-1]
    assert len(webhook_receiver.requests) == tries + 1
    assert last.answered == 200
    assert last.header("Brigade-Event-Id") == str(delivery.public_id)
    assert verify(partner.secret, last.header(SIGNATURE_HEADER), last.body)
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == (PartnerDeliveryStatus.DELIVERED, tries + 1)
    letter.refresh_from_db()
    assert letter.retried_at is not None

    # And resending a delivered one sends nothing
    with django_capture_on_commit_callbacks(execute=True):
        assert partner_delivery_resend(delivery_ids=[delivery.pk]) == 0
    assert len(webhook_receiver.requests) == tries + 1


def test_an_unreachable_partner_is_recorded_without_its_address(
    small_menu, django_capture_on_commit_callbacks, allow_private_partner_urls
):
    partner = _partner(f"http://127.0.0.1:{_closed_port()}/hook?token=do-not-log-me")

    _pay(_placed(small_menu), django_capture_on_commit_callbacks)

    delivery = PartnerDelivery.objects.get()
    assert (delivery.status, delivery.last_status_code, delivery.last_error) == (
        "failed",
        None,
        "ConnectionError",
    )
    letter = DeadLetter.objects.get()
    assert "do-not-log-me" not in letter.error and "127.0.0.1" not in letter.error
    assert partner.secret not in letter.error


def test_the_same_event_published_twice_makes_one_delivery(
    small_menu, webhook_receiver, django_capture_on_commit_callbacks
):
    _partner(webhook_receiver.url)
    _pay(_placed(small_menu), django_capture_on_commit_callbacks)
    event = OutboxEvent.objects.get(topic="order.paid")

    # As when the publisher died after handing the event on but before marking it published
    OutboxEvent.objects.filter(pk=event.pk).update(published_at=None)
    with django_capture_on_commit_callbacks(execute=True):
        assert outbox_publish(event_id=event.pk) is True

    assert PartnerDelivery.objects.count() == 1
    assert len(webhook_receiver.requests) == 1


def test_a_delivered_delivery_is_never_sent_again(
    small_menu, webhook_receiver, django_capture_on_commit_callbacks
):
    _partner(webhook_receiver.url)
    _pay(_placed(small_menu), django_capture_on_commit_callbacks)
    delivery = PartnerDelivery.objects.get()

    # A redelivered task message, a stray retry
    assert partner_delivery_attempt(delivery_id=delivery.pk) is False
    assert (
        partner_delivery_attempt(delivery_id=delivery.pk, outbox_event_id=delivery.outbox_event_id) is False
    )

    assert len(webhook_receiver.requests) == 1
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == ("delivered", 1)


def test_retries_wait_longer_each_time_up_to_the_cap_with_jitter(settings):
    settings.PARTNER_WEBHOOK_RETRY_BASE_SECONDS = 30.0
    settings.CELERY_RETRY_BACKOFF_MAX = 300

    for retries, expected in [(0, 30), (1, 60), (2, 120), (3, 240), (4, 300), (6, 300)]:
        delays = [_partner_webhook_backoff(retries) for _ in range(200)]
        assert all(0.8 * expected <= d <= 1.2 * expected for d in delays), retries
        assert len(set(delays)) > 1, "jittered"


# ---------------------------------------------------------------- partners in admin


def test_a_partner_subscribes_only_to_known_events():
    partner = Partner(name="P", url="https://partner.example/hook", events=["order.paid", "order.refunded"])
    with pytest.raises(ValidationError, match=r"order\.refunded"):
        partner.full_clean()
    partner.events = "order.paid"
    with pytest.raises(ValidationError):
        partner.full_clean()
    partner.events = ["order.paid", "order.cancelled"]
    partner.full_clean()
    assert len(partner.secret) >= 43  # 256 bits, url-safe base64


def test_a_manager_adds_a_partner_sees_its_secret_once_and_can_rotate_it(actors):
    manager = client_for(actors.manager)

    response = manager.post(
        reverse("admin:orders_partner_add"),
        {
            "name": "Rapid Riders",
            "url": "https://riders.example/hooks/brigade",
            "events": ["order.paid", "order.ready"],
            "is_active": "on",
            "deliveries-TOTAL_FORMS": "0",
            "deliveries-INITIAL_FORMS": "0",
        },
        follow=True,
    )

    assert response.status_code == 200
    partner = Partner.objects.get()
    assert partner.events == ["order.paid", "order.ready"]
    assert partner.secret in response.content.decode()
    page = manager.get(reverse("admin:orders_partner_change", args=[partner.pk])).content.decode()
    assert partner.secret not in page
    assert 'type="checkbox" name="events" value="order.cancelled"' in page

    old = partner.secret
    rotated = manager.post(
        reverse("admin:orders_partner_changelist"),
        {"action": "rotate_secret", "_selected_action": [partner.pk]},
        follow=True,
    )
    partner.refresh_from_db()
    assert partner.secret != old
    assert partner.secret in rotated.content.decode()


def test_a_partner_with_an_unknown_event_is_refused_in_admin(actors):
    response = client_for(actors.manager).post(
        reverse("admin:orders_partner_add"),
        {
            "name": "P",
            "url": "https://p.example/",
            "events": ["order.refunded"],
            "deliveries-TOTAL_FORMS": "0",
            "deliveries-INITIAL_FORMS": "0",
        },
    )
    assert response.status_code == 200
    assert not Partner.objects.exists()


def test_only_managers_reach_partners_in_admin(actors):
    for user in (actors.waiter, actors.chef, actors.customer):
        response = client_for(user).get(reverse("admin:orders_partner_changelist"))
        assert response.status_code in {302, 403}, user


# ---------------------------------------------------------------- a task faster than its publisher


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("publisher_commits", [True, False], ids=["commits", "rolls-back"])
def test_a_delivery_task_that_arrives_before_its_publisher_commits_waits_for_it(
    small_menu, webhook_receiver, publisher_commits
):
    # Given a publisher that has created a delivery (and holds its event's
    # lock, as outbox_publish does) but not committed yet: with a broker, the
    # task's message is already on its way.
    partner = _partner(webhook_receiver.url)
    event = OutboxEvent.objects.create(order=_placed(small_menu), topic="order.paid")
    created, finish = threading.Event(), threading.Event()
    delivery_ids: list[int] = []

    def publisher() -> None:
        try:
            with transaction.atomic():
                locked = OutboxEvent.objects.select_for_update().get(pk=event.pk)
                delivery = PartnerDelivery.objects.create(
                    partner=partner, outbox_event=locked, topic=locked.topic, payload={"type": locked.topic}
                )
                delivery_ids.append(delivery.pk)
                created.set()
                finish.wait(10)
                if not publisher_commits:
                    transaction.set_rollback(True)
        finally:
            connection.close()

    thread = threading.Thread(target=publisher)
    thread.start()
    assert created.wait(10)
    threading.Timer(0.5, finish.set).start()

    # When the task runs before the commit
    started = time.monotonic()
    sent = partner_delivery_attempt(delivery_id=delivery_ids[0], outbox_event_id=event.pk)
    waited = time.monotonic() - started
    thread.join(10)

    # Then it waited for the publisher: a committed delivery is sent, a rolled-back one is not
    assert waited >= 0.4
    assert sent is publisher_commits
    assert len(webhook_receiver.requests) == (1 if publisher_commits else 0)


def test_a_manager_edits_a_partner_whose_deliveries_are_listed_on_its_page(small_menu, actors):
    partner = _partner("https://riders.example/hook")
    event = OutboxEvent.objects.create(order=_placed(small_menu), topic="order.paid")
    delivery = PartnerDelivery.objects.create(partner=partner, outbox_event=event, topic=event.topic)
    manager = client_for(actors.manager)
    url = reverse("admin:orders_partner_change", args=[partner.pk])
    assert f"#{event.order_id}" in manager.get(url).content.decode()

    response = manager.post(
        url,
        {
            "name": "Rapid Riders",
            "url": "riders.example/v2/hook",
            "events": ["order.ready"],
            "deliveries-TOTAL_FORMS": "1",
            "deliveries-INITIAL_FORMS": "1",
            "deliveries-0-id": str(delivery.pk),
            "deliveries-0-partner": str(partner.pk),
        },
    )

    assert response.status_code == 302, response.content.decode()[:2000]
    partner.refresh_from_db()
    assert (partner.url, partner.events, partner.is_active) == (
        "https://riders.example/v2/hook",
        ["order.ready"],
        False,
    )
    assert PartnerDelivery.objects.get() == delivery
