"""The order-paid event reaches its consumers once, even across a crash."""

from __future__ import annotations

import pytest
from django.core import mail

from accounts.roles import Actor, Role
from orders.models import Order, OrderStatus, OutboxEvent
from orders.outbox.services import outbox_publish, outbox_sweep
from orders.pricing import CartLine
from orders.services import OrderDetails, order_place, order_transition

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("eager_tasks")]

TILL = Actor.system("test-till")
CHEF = Actor(label="chef", roles=frozenset({Role.CHEF}))


def _placed(menu) -> Order:
    order, _ = order_place(
        lines=[CartLine(menu.burger.pk, 2, (menu.medium.pk, menu.bacon.pk))],
        details=OrderDetails(
            order_type="pickup",
            contact_name="Ada",
            contact_email="ada@example.test",
            special_instructions="<b>hi",
        ),
        actor=Actor.guest(),
    )
    return order


def test_paying_an_order_sends_one_confirmation_email(small_menu, django_capture_on_commit_callbacks):
    order = _placed(small_menu)

    with django_capture_on_commit_callbacks(execute=True):
        order_transition(order=order, to_status=OrderStatus.PAID, actor=TILL)

    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["ada@example.test"]
    assert f"order {order.number}" in message.subject
    assert "2 x Burger (Medium, Bacon)" in message.body
    assert order.get_absolute_url() in message.body
    assert OutboxEvent.objects.get(topic="order.paid").published_at is not None


def test_the_same_event_published_again_sends_nothing_more(small_menu, django_capture_on_commit_callbacks):
    order = _placed(small_menu)
    with django_capture_on_commit_callbacks(execute=True):
        order_transition(order=order, to_status=OrderStatus.PAID, actor=TILL)
    event = OutboxEvent.objects.get(topic="order.paid")

    # A second relay, then a publish of the same event again, as when the
    # process died after handing it on but before marking it published.
    with django_capture_on_commit_callbacks(execute=True):
        assert outbox_publish(event_id=event.pk) is False
    OutboxEvent.objects.filter(pk=event.pk).update(published_at=None)
    with django_capture_on_commit_callbacks(execute=True) as republished:
        assert outbox_publish(event_id=event.pk) is True
    assert republished, "the email task was handed on again"

    assert len(mail.outbox) == 1


def test_an_event_whose_publisher_died_is_published_by_the_sweep_once(
    small_menu, django_capture_on_commit_callbacks
):
    order = _placed(small_menu)

    # Given the payment committed but the process died before its after-commit
    # relay ran: the callbacks are captured and never executed.
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        order_transition(order=order, to_status=OrderStatus.PAID, actor=TILL)
    assert callbacks, "the relay is registered to run after commit"
    assert mail.outbox == []
    assert OutboxEvent.objects.get(topic="order.paid").published_at is None

    # When the periodic sweep runs (twice, as it does every 30 seconds)
    with django_capture_on_commit_callbacks(execute=True):
        first = outbox_sweep(older_than_seconds=0)
    with django_capture_on_commit_callbacks(execute=True):
        second = outbox_sweep(older_than_seconds=0)

    # Then the events were published once (the order placed and paid, the floor's
    # news of each, and the board's news of the tickets the kitchen made in the
    # paying transaction) and the customer got one email
    assert (first, second) == (5, 0)
    assert len(mail.outbox) == 1


def test_every_status_change_is_recorded_for_consumers(small_menu, django_capture_on_commit_callbacks):
    order = _placed(small_menu)
    with django_capture_on_commit_callbacks(execute=True):
        order = order_transition(order=order, to_status=OrderStatus.PAID, actor=TILL)
        order = order_transition(order=order, to_status=OrderStatus.IN_PREPARATION, actor=CHEF)

    topics = list(OutboxEvent.objects.filter(topic__startswith="order.").values_list("topic", flat=True))
    assert topics == ["order.awaiting_payment", "order.paid", "order.in_preparation"]


def test_no_confirmation_goes_out_for_an_unpaid_order(small_menu):
    from orders.notifications import order_confirmation_send

    order = _placed(small_menu)

    assert order_confirmation_send(order_id=order.pk) is False
    assert mail.outbox == []


def test_an_expired_order_tells_the_customer_once(small_menu, settings, django_capture_on_commit_callbacks):
    from datetime import timedelta

    from django.utils import timezone

    from orders.payments.services import orders_expire_unpaid

    order = _placed(small_menu)
    later = timezone.now() + timedelta(minutes=settings.PAYMENT_TIMEOUT_MINUTES + 1)

    with django_capture_on_commit_callbacks(execute=True):
        orders_expire_unpaid(now=later)
    with django_capture_on_commit_callbacks(execute=True):
        outbox_sweep(older_than_seconds=-3600)  # a second publish finds nothing to do

    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["ada@example.test"]
    assert f"order {order.number} cancelled" in message.subject
    assert "payment not received in time" in message.body
    assert "No money was taken" in message.body


# ------------------------------------------- recorders, one publish per change, any context


@pytest.fixture
def own_topic():
    """A topic of the test's own, with its handlers removed again afterwards."""
    from orders.outbox import services

    topic = "test.thing_happened"
    yield topic
    for handler in services._consumers.pop(topic, []):
        services._live.discard(handler)
    services._recorders.pop(topic, None)


def test_a_payment_and_its_tickets_commit_together_and_are_published_in_one_go(
    small_menu, django_capture_on_commit_callbacks
):
    from kitchen.models import Ticket

    order = _placed(small_menu)

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        order_transition(order=order, to_status=OrderStatus.PAID, actor=TILL)

    # The kitchen's recorder made the tickets in the paying transaction, before any publish.
    assert Ticket.objects.filter(order=order).count() == 1
    # After the placing's two (the order placed, the floor's news of it).
    events = list(OutboxEvent.objects.filter(order=order).order_by("id"))[2:]
    # The floor's recorder numbered the change too, before the kitchen's (orders.floor.events).
    assert [e.topic for e in events] == ["order.paid", "floor.orders", "kitchen.tickets"]
    assert all(e.published_at is None for e in events)

    with django_capture_on_commit_callbacks(execute=True):
        for callback in callbacks:
            callback()

    published = {e.topic: e.published_at for e in OutboxEvent.objects.filter(order=order).order_by("id")}
    # One publishing transaction, one UPDATE: the same moment for both.
    assert published["order.paid"] is not None
    assert published["order.paid"] == published["kitchen.tickets"]
    assert len(mail.outbox) == 1


def test_a_failing_recorder_undoes_its_events_recorders_and_the_change_commits(
    small_menu, own_topic, django_capture_on_commit_callbacks
):
    from django.db import transaction

    from orders.outbox.services import outbox_on_record, outbox_record

    order = _placed(small_menu)
    heard = []

    def a_write_and_an_event(event: OutboxEvent) -> None:
        Order.objects.filter(pk=event.order_pk).update(contact_phone="0100 000")
        outbox_record(order=order, topic="test.recorded_by_a_recorder")

    def half_a_write_then_a_crash(event: OutboxEvent) -> None:
        Order.objects.filter(pk=event.order_pk).update(special_instructions="written by the recorder")
        raise RuntimeError("the recorder broke")

    outbox_on_record(own_topic, a_write_and_an_event, fallback=lambda e: heard.append(("first", e.pk)))
    outbox_on_record(own_topic, half_a_write_then_a_crash, fallback=lambda e: heard.append(("second", e.pk)))

    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        event = outbox_record(order=order, topic=own_topic, payload={"n": 1})
        Order.objects.filter(pk=order.pk).update(contact_name="Changed")

    order.refresh_from_db()
    assert order.contact_name == "Changed"
    # The recorders share one savepoint: the one that succeeded is undone with the one that broke,
    # the event it recorded too, and both fallbacks do the work at publish.
    assert order.special_instructions != "written by the recorder"
    assert order.contact_phone != "0100 000"
    assert not OutboxEvent.objects.filter(topic="test.recorded_by_a_recorder").exists()
    assert heard == [("first", event.pk), ("second", event.pk)]
    assert OutboxEvent.objects.get(pk=event.pk).published_at is not None


def test_a_payment_its_floor_line_and_its_tickets_are_written_in_one_insert(small_menu):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    order = _placed(small_menu)

    with CaptureQueriesContext(connection) as captured:
        order_transition(order=order, to_status=OrderStatus.PAID, actor=TILL)

    inserts = [q["sql"] for q in captured if q["sql"].startswith('INSERT INTO "orders_outboxevent"')]
    assert len(inserts) == 1
    topics = list(OutboxEvent.objects.filter(order=order).order_by("id").values_list("topic", flat=True))[2:]
    assert topics == ["order.paid", "floor.orders", "kitchen.tickets"]


def test_a_recorders_fallback_is_skipped_where_the_recorder_was_seen_to_succeed(
    small_menu, own_topic, django_capture_on_commit_callbacks
):
    from django.db import transaction

    from orders.outbox.services import outbox_on_record, outbox_record

    order = _placed(small_menu)
    recorded: list[OutboxEvent] = []
    fallbacks = []
    outbox_on_record(own_topic, recorded.append, fallback=lambda e: fallbacks.append(e.pk))

    # When the event is recorded and published by the process that made it
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        event = outbox_record(order=order, topic=own_topic)

    # Then the recorder did the work and its fallback was skipped, no query asked
    # (published elsewhere, the fallback runs: tests/orders/test_worker.py, the sweep)
    assert (recorded, fallbacks) == ([event], [])
    assert event.pk is not None


def test_an_event_about_no_order_is_recorded_and_published(own_topic, django_capture_on_commit_callbacks):
    from orders.outbox.services import outbox_record, outbox_subscribe

    heard = []
    outbox_subscribe(own_topic, lambda event: heard.append((event.order_id, event.payload)))

    with django_capture_on_commit_callbacks(execute=True):
        event = outbox_record(topic=own_topic, payload={"menu_version": 7})

    assert heard == [(None, {"menu_version": 7})]
    event.refresh_from_db()
    assert event.published_at is not None
    with pytest.raises(ValueError, match="about no order"):
        _ = event.order_pk


def _in_a_transaction() -> bool:
    from django.db import transaction

    return transaction.get_connection().in_atomic_block


@pytest.mark.django_db(transaction=True)
def test_live_consumers_hear_a_committed_event_before_its_publishing_transaction_and_only_once(own_topic):
    from django.db import transaction

    from orders.outbox.services import outbox_record, outbox_subscribe

    # Given a topic with a broadcast and a consumer that fails once (the queue away for a moment)
    heard = []
    tries = []

    def broadcast(event: OutboxEvent) -> None:
        heard.append(("broadcast", event.pk, _in_a_transaction()))

    def enqueue_email(event: OutboxEvent) -> None:
        tries.append(event.pk)
        if len(tries) == 1:
            raise ConnectionError("the queue is away")
        heard.append(("email", event.pk, _in_a_transaction()))

    outbox_subscribe(own_topic, broadcast, live=True)
    outbox_subscribe(own_topic, enqueue_email)

    # When an event commits
    with transaction.atomic():
        event = outbox_record(topic=own_topic, payload={"n": 1})

    # Then the broadcast went out after the commit and outside any transaction; the
    # publish that failed was made again for the email alone, and the event is published
    assert heard == [("broadcast", event.pk, False), ("email", event.pk, True)]
    assert OutboxEvent.objects.get(pk=event.pk).published_at is not None


@pytest.mark.django_db(transaction=True)
def test_an_event_rolled_back_with_its_savepoint_is_never_broadcast_and_the_rest_are(own_topic):
    from django.db import transaction

    from orders.outbox.services import outbox_record, outbox_subscribe

    heard = []
    outbox_subscribe(own_topic, lambda event: heard.append(event.payload["n"]), live=True)

    # When one transaction records three events, the second in a savepoint that rolls back
    # and the third in one that is released
    with transaction.atomic():
        outbox_record(topic=own_topic, payload={"n": 1})
        with pytest.raises(RuntimeError), transaction.atomic():
            outbox_record(topic=own_topic, payload={"n": 2})
            raise RuntimeError("this part is undone")
        with transaction.atomic():
            outbox_record(topic=own_topic, payload={"n": 3})

    # Then the pages hear of the two that committed, once each, and both are published
    assert heard == [1, 3]
    recorded = OutboxEvent.objects.filter(topic=own_topic).order_by("id")
    published = [(event.payload["n"], event.published_at is not None) for event in recorded]
    assert published == [(1, True), (3, True)]


@pytest.mark.django_db(transaction=True)
def test_an_event_left_by_a_crash_is_broadcast_by_the_sweep_in_its_publishing_transaction(own_topic):
    from datetime import timedelta

    from django.utils import timezone

    from orders.outbox.services import outbox_subscribe

    heard = []
    outbox_subscribe(own_topic, lambda event: heard.append((event.pk, _in_a_transaction())), live=True)
    # An event whose process died before publishing it
    event = OutboxEvent.objects.create(topic=own_topic, payload={"n": 1})
    OutboxEvent.objects.filter(pk=event.pk).update(created_at=timezone.now() - timedelta(minutes=1))

    assert outbox_sweep() == 1
    assert heard == [(event.pk, True)]


@pytest.mark.django_db(transaction=True)
def test_an_event_whose_every_consumer_has_run_is_marked_published_in_one_statement(own_topic):
    from django.db import connection, transaction
    from django.test.utils import CaptureQueriesContext

    from orders.outbox.services import outbox_record, outbox_subscribe

    # Given a topic whose only consumer is a broadcast (as an order placed, a ticket bumped)
    heard = []
    outbox_subscribe(own_topic, lambda event: heard.append(event.pk), live=True)

    # When one is recorded and commits
    with CaptureQueriesContext(connection) as captured, transaction.atomic():
        event = outbox_record(topic=own_topic, payload={"n": 1})

    # Then, once the broadcast went out, one UPDATE says so: no publishing transaction, no lock
    statements = [query["sql"] for query in captured.captured_queries]
    assert heard == [event.pk]
    assert statements[-1].startswith('UPDATE "orders_outboxevent"')
    assert sum(statement == "BEGIN" for statement in statements) <= 1
    assert not any("FOR UPDATE" in statement for statement in statements)
    assert OutboxEvent.objects.get(pk=event.pk).published_at is not None
