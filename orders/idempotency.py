"""`Idempotency-Key` for the API's writes that must happen once: placing an order, starting a payment.

A client sends a key of its own choosing with the request; the first
request with that key (per caller and operation) runs, and its answer is
kept for IDEMPOTENCY_KEY_HOURS. Later:

- the same key with the same body gets the kept answer again (the same
  order, the same payment page), marked `Idempotent-Replayed: true`;
- the same key with a different body is a 422: the key names another request;
- while the first is still running, a second is a 409 (`Retry-After: 1`):
  the claim is a row inserted in its own short transaction, so of two
  simultaneous requests exactly one runs. The order itself is placed under a
  key derived from that row, so even a run that dies after placing and is
  taken over (the claim expires after IDEMPOTENCY_CLAIM_SECONDS) finds that
  order instead of making a second one.

Only a success is kept. A refusal (any ApplicationError: the cart, the
kitchen, payments unavailable) left nothing behind, so its claim is
released and the same key may be sent again, changed or not (after a failed
payment provider cancelled the order it could not take money for, a retry
places a new one). A request refused before it ran (a body that is not
valid) makes no claim at all.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, models, transaction
from django.utils import timezone

from restaurant.errors import ApplicationError, Conflict

KEY_MAX_LENGTH = 255


class IdempotencyKeyReused(ApplicationError):
    status = 422
    default_code = "idempotency_key_reused"


class IdempotencyKeyInUse(Conflict):
    default_code = "idempotency_key_in_use"
    # The first request holds the key for a moment; asking again soon gets its answer.
    retry_after = 1


class IdempotencyRecord(models.Model):
    """One idempotency key a caller used for one operation, and the answer its first request got."""

    # Whose key: "user:<id>" or "partner:<id>". Keys of different callers never meet.
    owner = models.CharField(max_length=40)
    # What was asked: "order_create", "payment_start:<order id>".
    operation = models.CharField(max_length=60)
    key = models.CharField(max_length=KEY_MAX_LENGTH)
    # SHA-256 of the operation and the request body, canonical JSON.
    fingerprint = models.CharField(max_length=64)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    # While running: how long the first request holds the key before another may take over.
    claimed_until = models.DateTimeField(null=True, blank=True)
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    body = models.JSONField(null=True, blank=True)

    class Meta:
        app_label = "orders"
        constraints = [
            models.UniqueConstraint(fields=("owner", "operation", "key"), name="idempotency_one_per_key")
        ]

    def __str__(self) -> str:
        return f"{self.owner} {self.operation} {self.key[:20]}"

    @property
    def derived_key(self) -> str:
        """The key the operation records its result under (Order.idempotency_key)."""
        return f"api:{self.pk}"


@dataclass(frozen=True)
class IdempotentAnswer:
    status: int
    body: Any
    replayed: bool


def fingerprint_of(*, operation: str, body: Any) -> str:
    canonical = json.dumps([operation, body], sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def _expired_before() -> Any:
    return timezone.now() - timedelta(hours=settings.IDEMPOTENCY_KEY_HOURS)


def _claim(*, owner: str, operation: str, key: str, fingerprint: str) -> IdempotencyRecord | IdempotentAnswer:
    now = timezone.now()
    claim_until = now + timedelta(seconds=settings.IDEMPOTENCY_CLAIM_SECONDS)
    with transaction.atomic():
        # A key past its time is forgotten: the same key now starts afresh.
        IdempotencyRecord.objects.filter(
            owner=owner, operation=operation, key=key, created_at__lt=_expired_before()
        ).delete()
    try:
        with transaction.atomic():
            return IdempotencyRecord.objects.create(
                owner=owner, operation=operation, key=key, fingerprint=fingerprint, claimed_until=claim_until
            )
    except IntegrityError:
        pass  # the key was used before, or is being used right now
    record = IdempotencyRecord.objects.filter(owner=owner, operation=operation, key=key).first()
    if record is None:  # released by a failed first request between our insert and this read
        raise IdempotencyKeyInUse("A request with this Idempotency-Key is being handled. Try again.")
    if record.fingerprint != fingerprint:
        raise IdempotencyKeyReused(
            "This Idempotency-Key was used for a different request. Use a new key for a new request."
        )
    if record.status_code is not None:
        return IdempotentAnswer(status=record.status_code, body=record.body, replayed=True)
    with transaction.atomic():
        # Only a claim whose holder died (it expired) may be taken over, and by one taker.
        taken = IdempotencyRecord.objects.filter(
            pk=record.pk, status_code__isnull=True, claimed_until__lt=now
        ).update(claimed_until=claim_until)
    if taken != 1:
        raise IdempotencyKeyInUse("A request with this Idempotency-Key is being handled. Try again.")
    record.claimed_until = claim_until
    return record


def idempotent(
    *, owner: str, operation: str, key: str, body: Any, run: Callable[[str], tuple[int, Any]]
) -> IdempotentAnswer:
    """Runs `run(derived_key)` once per (owner, operation, key); its (status, body) is kept and replayed.

    Whatever `run` raises releases the key and propagates.
    """
    fingerprint = fingerprint_of(operation=operation, body=body)
    claimed = _claim(owner=owner, operation=operation, key=key, fingerprint=fingerprint)
    if isinstance(claimed, IdempotentAnswer):
        return claimed
    try:
        status, answer = run(claimed.derived_key)
    except BaseException:
        _release(claimed)
        raise
    with transaction.atomic():
        IdempotencyRecord.objects.filter(pk=claimed.pk).update(
            status_code=status, body=answer, claimed_until=None
        )
    return IdempotentAnswer(status=status, body=answer, replayed=False)


def _release(record: IdempotencyRecord) -> None:
    with transaction.atomic():
        IdempotencyRecord.objects.filter(pk=record.pk, status_code__isnull=True).delete()


def idempotency_records_purge() -> int:
    """Forgets keys older than IDEMPOTENCY_KEY_HOURS (beat, hourly)."""
    with transaction.atomic():
        deleted, _ = IdempotencyRecord.objects.filter(created_at__lt=_expired_before()).delete()
    return deleted
