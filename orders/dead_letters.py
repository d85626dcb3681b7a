"""Tasks that ran out of tries: recorded for people, retried on request."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from functools import partial
from typing import Any

from celery import Task
from django.db import transaction
from django.utils import timezone

from orders.models import DeadLetter

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


def dead_letters_retry(*, letter_ids: list[int]) -> int:
    """Sends each task again with its original arguments; returns how many were sent."""
    from restaurant.celery import app

    sent = 0
    with transaction.atomic():
        for letter in DeadLetter.objects.select_for_update().filter(
            pk__in=letter_ids, retried_at__isnull=True
        ):
            task = app.tasks[letter.task_name]
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
