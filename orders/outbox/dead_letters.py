"""Tasks that ran out of tries: recorded for people, retried on request."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from functools import partial
from smtplib import SMTPException
from typing import Any

from celery import Task, shared_task
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from orders.outbox.models import DeadLetter

logger = logging.getLogger(__name__)


def dead_letter_record(
    *,
    task_name: str,
    task_id: str,
    args: Iterable[Any],
    kwargs: dict[str, Any],
    error: BaseException,
    attempts: int,
) -> DeadLetter:
    letter = DeadLetter.objects.create(
        task_name=task_name,
        task_id=task_id or "",
        args=list(args),
        kwargs=dict(kwargs),
        # The class and message say what failed; no traceback reaches admin.
        error=f"{type(error).__name__}: {error}"[:1000],
        attempts=attempts,
    )
    logger.error(
        "task dead-lettered", extra={"task": task_name, "task_id": task_id, "dead_letter_id": letter.pk}
    )
    return letter


def task_named(name: str) -> Task:
    """The task registered under a name: how services enqueue their tasks without importing them.

    Task modules import their services; a service naming its task (the name is
    pinned, see tests/orders/test_task_names.py) keeps the import one way.
    """
    from restaurant.celery import app

    return app.tasks[name]


def dead_letters_retry(*, letter_ids: list[int]) -> int:
    """Sends each task again with its original arguments; returns how many were sent."""
    sent = 0
    with transaction.atomic():
        for letter in DeadLetter.objects.select_for_update().filter(
            pk__in=letter_ids, retried_at__isnull=True
        ):
            task = task_named(letter.task_name)
            transaction.on_commit(partial(task.apply_async, args=letter.args, kwargs=letter.kwargs))
            letter.retried_at = timezone.now()
            letter.save(update_fields=["retried_at"])
            sent += 1
    return sent


class DeadLetteringTask(Task):
    """Base for tasks that must not fail silently: the last failure is dead-lettered."""

    def on_failure(self, exc: BaseException, task_id: str, args: Any, kwargs: Any, einfo: Any) -> None:
        dead_letter_record(
            task_name=self.name,
            task_id=task_id,
            args=args,
            kwargs=kwargs,
            error=exc,
            attempts=self.request.retries + 1,
        )


TRANSIENT_ERRORS = (SMTPException, ConnectionError, TimeoutError, OSError)

_RELIABLE = {
    "base": DeadLetteringTask,
    "autoretry_for": TRANSIENT_ERRORS,
    "retry_backoff": True,
    "retry_backoff_max": settings.CELERY_RETRY_BACKOFF_MAX,
    "retry_jitter": True,
    "max_retries": 8,
}


def reliable_task(*, name: str, **options: Any) -> Any:
    """A task that retries transient errors with backoff and jitter, dead-lettered after its last try.

    The name is required: queued messages, the beat schedule and dead letters
    hold it, so it must not follow the code if the code moves
    (tests/orders/test_task_names.py pins every one).
    """
    return shared_task(name=name, **_RELIABLE, **options)
