"""The outbox's tasks: publish one event from the queue, and the periodic sweep.

Their names are the ones they had before the outbox had a package of its
own: the beat schedule, queued messages and dead letters hold them.
"""

from __future__ import annotations

from celery import shared_task

from orders.outbox.dead_letters import reliable_task


@reliable_task(name="orders.tasks.outbox_publish_task")
def outbox_publish_task(event_id: int) -> bool:
    from orders.outbox.services import outbox_publish

    return outbox_publish(event_id=event_id)


@shared_task(name="orders.tasks.outbox_sweep")
def outbox_sweep() -> int:
    from orders.outbox.services import outbox_sweep as sweep

    return sweep()
