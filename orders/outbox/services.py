"""The transactional outbox: record events with the change, publish them after commit.

Publishing an event means handing it to its consumers, which every app
subscribes from its AppConfig.ready (orders: the live order page, emails,
partner webhooks; the kitchen: board broadcasts), so the outbox knows none
of them. Consumers are idempotent, so an event published twice — by the
after-commit relay and by the sweep — has its effect once.

An app may also react to an event inside the transaction that records it (a
recorder, `outbox_on_record`): the kitchen makes a paid order's tickets in
the paying transaction, so they commit with the payment and reach the
boards in the same publish. The events a transaction records are published
together, in one publishing transaction, right after it commits; their
live consumers (broadcasts to the pages, `live=True`) go first, from the
events in hand, before that transaction's round trips.

The outbox serves any context: an event names its order where it is about
one, and carries whatever else it is about in its payload.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from datetime import timedelta
from functools import partial
from typing import TYPE_CHECKING, Any

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from orders.outbox.dead_letters import task_named
from orders.outbox.models import OutboxEvent

if TYPE_CHECKING:
    from orders.models import Order

logger = logging.getLogger(__name__)

PUBLISH_TASK_NAME = "orders.tasks.outbox_publish_task"


def outbox_enqueue(task_name: str, *args: object) -> None:
    """Hands work to the queue while the event is being published.

    With a broker the message is sent before the event is marked published,
    so a crash in between publishes it again (at least once) rather than never.
    Without one (eager mode) the task would run inside this transaction, and
    its failure would undo the publish; it runs right after commit instead.
    """
    from restaurant.celery import app

    task = task_named(task_name)
    if app.conf.task_always_eager:
        transaction.on_commit(lambda: task.delay(*args))
    else:
        # No publish retries: with the broker down the event stays unpublished
        # at once and the sweep sends it, rather than the request waiting out
        # kombu's retries (and again for the fallback).
        task.apply_async(args=args, retry=False)


# topic -> its consumers, in the order they were subscribed. Apps subscribe
# from their AppConfig.ready; handlers enqueue work or make small idempotent
# writes in the publishing transaction.
_consumers: dict[str, list[Callable[[OutboxEvent], None]]] = {}
# topic -> its recorders: handlers run in the recording transaction.
_recorders: dict[str, list[Callable[[OutboxEvent], None]]] = {}
# The consumers that only broadcast to live pages.
_live: set[Callable[[OutboxEvent], None]] = set()


def outbox_subscribe(topic: str, handler: Callable[[OutboxEvent], None], *, live: bool = False) -> None:
    """Adds a consumer for a topic (other apps call this from AppConfig.ready).

    `live`: the handler only broadcasts the event to live pages: it reads
    nothing but the event, writes nothing, and logs its own failure (pages
    heal by their ping). The process that committed the event calls it right
    after the commit, before the publishing transaction, so a board's frame
    does not wait for that transaction's round trips; wherever else the
    event is published (the relay task, the sweep) it runs with the others.
    A crash between the two sends it twice, which pages ignore by `seq`.
    """
    handlers = _consumers.setdefault(topic, [])
    if handler not in handlers:
        handlers.append(handler)
    if live:
        _live.add(handler)


@dataclass(frozen=True)
class RecorderFallback:
    """The consumer standing in for a recorder: does the recorder's work at publish, if it was not done.

    Where this process saw the recorder succeed (the usual after-commit
    publish) it is skipped without a query; published elsewhere (the relay
    task, the sweep), `fallback` runs and finds for itself what is left.
    """

    recorder: Callable[[OutboxEvent], None]
    fallback: Callable[[OutboxEvent], None]

    def __call__(self, event: OutboxEvent) -> None:
        if not self.done_here(event):
            self.fallback(event)

    def done_here(self, event: OutboxEvent) -> bool:
        """Whether this process saw the recorder do the work for this event."""
        return (event.pk, self.recorder) in _recorded.succeeded


def outbox_on_record(
    topic: str, handler: Callable[[OutboxEvent], None], *, fallback: Callable[[OutboxEvent], None]
) -> None:
    """Adds a recorder: a handler run in the transaction that records the topic's event.

    For writes that belong with the change itself (a paid order's tickets),
    so they commit with it and are published with it. An event's recorders
    run together in one savepoint: if one fails, it is logged, all of them
    are undone, and the change still commits. So a recorder comes with a
    consumer, `fallback`, that does its work when the event is published (an
    idempotent one, which finds nothing left to do when the recorder
    succeeded); it is subscribed here, in the consumers' order. What a
    recorder records is written once it returns (outbox_record), so a
    recorder never catches the failure of a block it recorded in: the
    event would outlive the rollback.
    """
    handlers = _recorders.setdefault(topic, [])
    if handler not in handlers:
        handlers.append(handler)
    outbox_subscribe(topic, RecorderFallback(recorder=handler, fallback=fallback))


def outbox_consumers(topic: str) -> tuple[Callable[[OutboxEvent], None], ...]:
    """The consumers of a topic, in the order publishing calls them."""
    return tuple(_consumers.get(topic, ()))


def outbox_recorders(topic: str) -> tuple[Callable[[OutboxEvent], None], ...]:
    return tuple(_recorders.get(topic, ()))


class _Recorded(threading.local):
    """The events this thread's open transaction recorded, published together once it commits.

    Every outbox_record registers its own after-commit callback, which runs
    only if what it recorded committed (a callback is dropped with a
    savepoint that rolls back, and with the transaction): it broadcasts its
    events to the live pages at once. The last one publishes the whole
    list, when it cannot be dropped (recorded outside any savepoint);
    otherwise the first that runs does, since relying on a callback that
    may be dropped could lose the rest. Ids of rows that were rolled back
    find nothing to publish.
    """

    def __init__(self) -> None:
        self.events: list[OutboxEvent] = []
        # Whether the last outbox_record's callback runs whenever the transaction commits.
        self.last_is_certain = False
        # Events whose live consumers ran after commit (or that were published inline since).
        self.live_done: set[int] = set()
        # (event id, recorder) for each recorder that succeeded: its fallback has nothing to do.
        self.succeeded: set[tuple[int, Callable[[OutboxEvent], None]]] = set()
        # While recorders run: the events they record, each with the recorders it ran,
        # inserted with the event that ran them once they all succeeded.
        self.pending: list[tuple[OutboxEvent, tuple[Callable[[OutboxEvent], None], ...]]] | None = None


_recorded = _Recorded()


def outbox_record(
    *, topic: str, payload: dict[str, Any] | None = None, order: Order | None = None
) -> OutboxEvent:
    """Records an event in the caller's transaction and publishes it once that commits.

    The committing process publishes it right after commit: consumers only
    broadcast, enqueue tasks or make small idempotent writes, and a queue hop
    in between would only delay live pages and the kitchen. If that fails the
    event goes to the queue, whose task retries with backoff; the sweep
    publishes whatever a crash left behind.

    The event and every event its recorders record are written in one
    INSERT after the recorders ran (a payment, its floor line and its
    tickets: one statement, not three), so an event recorded by a recorder
    has its primary key only once the recorder's caller is done.
    """
    event = OutboxEvent(order=order, topic=topic, payload=payload or {})
    recorders = tuple(_recorders.get(topic, ()))
    if _recorded.pending is not None:
        # Recorded by a recorder: its own recorders run in the same savepoint, and
        # the lot is written by the outbox_record that ran the first recorder.
        _recorded.pending.append((event, recorders))
        for recorder in recorders:
            recorder(event)
        return event
    batch: list[tuple[OutboxEvent, tuple[Callable[[OutboxEvent], None], ...]]] = [(event, ())]
    if recorders:
        _recorded.pending = [(event, recorders)]
        try:
            with transaction.atomic():
                for recorder in recorders:
                    recorder(event)
        except Exception:
            logger.exception("outbox recorder failed", extra={"topic": topic})
        else:
            batch = _recorded.pending
        finally:
            _recorded.pending = None
    OutboxEvent.objects.bulk_create([recorded for recorded, _ in batch])
    for recorded, ran in batch:
        _recorded.events.append(recorded)
        # Undone with the event itself if an enclosing savepoint rolls back: then nothing is published.
        _recorded.succeeded.update((recorded.pk, recorder) for recorder in ran)
    # No savepoint open (None marks an atomic block that opened none): this
    # callback is dropped only with the whole transaction.
    _recorded.last_is_certain = not any(transaction.get_connection().savepoint_ids)
    transaction.on_commit(partial(_after_commit, [recorded for recorded, _ in batch]))
    return event


def _after_commit(events: list[OutboxEvent]) -> None:
    # Run only if these events committed: the live pages hear of them from the events in hand.
    _broadcast_live([event for event in events if event.pk not in _recorded.live_done])
    recorded = _recorded.events
    if recorded and (recorded[-1] is events[-1] or not _recorded.last_is_certain):
        _publish_recorded()


def _broadcast_live(events: Sequence[OutboxEvent]) -> None:
    failed: set[int] = set()
    for event, consumer in _in_rounds(events, only_live=True):
        try:
            consumer(event)
        except Exception:  # noqa: BLE001 - the publishing transaction runs it again
            logger.warning("live consumer failed", extra={"event_id": event.pk, "topic": event.topic})
            failed.add(event.pk)
    _recorded.live_done.update(event.pk for event in events if event.pk not in failed)


def _publish_recorded() -> None:
    events, _recorded.events = _recorded.events, []
    event_ids = [event.pk for event in events]
    live_done = frozenset(_recorded.live_done)
    try:
        if all(_nothing_left(event, live_done) for event in events):
            # Every consumer has had the event (an order placed, a ticket bumped): no
            # transaction or lock needed to say so. Rows rolled back match nothing.
            OutboxEvent.objects.filter(pk__in=event_ids, published_at__isnull=True).update(
                published_at=timezone.now(), attempts=F("attempts") + 1
            )
        else:
            outbox_publish_batch(event_ids=event_ids, live_done=live_done)
    except Exception:  # noqa: BLE001 - the change is committed; each event is published on its own
        logger.warning("outbox inline publish failed; publishing one by one", extra={"event_ids": event_ids})
        for event_id in event_ids:
            _publish_now(event_id, live_done=live_done)
    finally:
        # What a rolled-back transaction left here goes too: its event ids are never used again.
        _recorded.succeeded.clear()
        # This commit's later callbacks (their events published with these) broadcast nothing more.
        _recorded.live_done = set(event_ids)


def _nothing_left(event: OutboxEvent, live_done: Collection[int]) -> bool:
    """Whether every consumer of this event has already done its work in this process."""
    return all(
        event.pk in live_done
        if consumer in _live
        else isinstance(consumer, RecorderFallback) and consumer.done_here(event)
        for consumer in _consumers.get(event.topic, ())
    )


def _publish_now(event_id: int, *, live_done: Collection[int] = ()) -> None:
    try:
        outbox_publish(event_id=event_id, live_done=live_done)
    except Exception:  # noqa: BLE001 - the change is committed; the queue (or the sweep) publishes it
        logger.warning("outbox inline publish failed; handing it to the queue", extra={"event_id": event_id})
        _publish_soon(event_id)


def _publish_soon(event_id: int) -> None:
    try:
        task_named(PUBLISH_TASK_NAME).apply_async(args=(event_id,), retry=False)
    except Exception:  # noqa: BLE001 - a broker outage must not fail the request; the sweep retries
        logger.warning("outbox relay could not enqueue; the sweep will publish", extra={"event_id": event_id})


def outbox_publish(*, event_id: int, live_done: Collection[int] = ()) -> bool:
    """Publishes one event unless it is published already (or being published)."""
    return outbox_publish_batch(event_ids=[event_id], live_done=live_done) == 1


def outbox_publish_batch(*, event_ids: Sequence[int], live_done: Collection[int] = ()) -> int:
    """Publishes the events not published yet (nor being published), in the order they were recorded.

    One transaction for the lot: what one change recorded costs one publish.
    If a consumer fails, none of them is marked published. `live_done`: the
    events whose live consumers this process ran already, after commit.
    """
    with transaction.atomic():
        # SKIP LOCKED: a sweep and a relay on the same event never both publish it.
        events = list(
            OutboxEvent.objects.select_for_update(skip_locked=True)
            .filter(pk__in=event_ids, published_at__isnull=True)
            .order_by("id")
        )
        for event, consumer in _in_rounds(events, skip_live_of=live_done):
            consumer(event)
        if events:
            OutboxEvent.objects.filter(pk__in=[event.pk for event in events]).update(
                published_at=timezone.now(), attempts=F("attempts") + 1
            )
    for event in events:
        logger.info("outbox event published", extra={"event_id": event.pk, "topic": event.topic})
    return len(events)


def _in_rounds(
    events: Sequence[OutboxEvent], *, only_live: bool = False, skip_live_of: Collection[int] = ()
) -> list[tuple[OutboxEvent, Callable[[OutboxEvent], None]]]:
    """Every event's first consumer, then every event's second, and so on.

    Each event's consumers still run in their subscription order, and the
    live pages subscribe first (a broadcast is what a waiting guest or cook
    is looking at): a payment's tracker frame and its board frame go out
    before the confirmation email is queued or a partner looked up.
    `only_live`: the live consumers alone. `skip_live_of`: events whose
    live consumers are left out.
    """
    queues = [
        [
            (event, consumer)
            for consumer in _consumers.get(event.topic, [])
            if (consumer in _live and event.pk not in skip_live_of)
            or (consumer not in _live and not only_live)
        ]
        for event in events
    ]
    rounds = max((len(queue) for queue in queues), default=0)
    return [queue[position] for position in range(rounds) for queue in queues if position < len(queue)]


def outbox_sweep(*, older_than_seconds: int = 10, batch_size: int = 200) -> int:
    """Publishes events the after-commit relay missed (a crash, a broker outage)."""
    cutoff = timezone.now() - timedelta(seconds=older_than_seconds)
    pending = list(
        OutboxEvent.objects.filter(published_at__isnull=True, created_at__lte=cutoff)
        .order_by("created_at", "id")
        .values_list("pk", flat=True)[:batch_size]
    )
    return sum(outbox_publish(event_id=event_id) for event_id in pending)
