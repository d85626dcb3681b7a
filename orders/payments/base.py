"""What Brigade needs from a payment provider, and what it hears back."""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from orders.models import Order, Payment

# Event types Brigade acts on, whatever the provider calls them.
PAYMENT_SUCCEEDED = "payment.succeeded"
PAYMENT_FAILED = "payment.failed"
KNOWN_EVENT_TYPES = frozenset({PAYMENT_SUCCEEDED, PAYMENT_FAILED})


@dataclass(frozen=True)
class CheckoutSession:
    provider_ref: str
    redirect_url: str


@dataclass(frozen=True)
class ProviderEvent:
    event_id: str
    type: str
    provider_ref: str
    # What the provider says it took, in minor units of `currency` (ISO 4217,
    # upper case). Always set on a success: it is checked against the Payment.
    amount_minor: int | None = None
    currency: str | None = None


class WebhookRejected(Exception):
    """A webhook that is not provably from the provider, or not understood. Answered 400."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class ProviderError(Exception):
    """The provider failed or could not be reached; the circuit breaker counts these."""


class ProviderRefused(Exception):
    """The provider answered and said no, for good (a refund of a disputed charge).

    Not a ProviderError: the provider is up, so the circuit breaker does not
    count it, and retrying the same request would get the same answer.
    """


class PaymentProvider(Protocol):
    name: str

    def create_checkout(self, *, order: Order, payment_key: str, return_url: str) -> CheckoutSession: ...

    def refund(self, *, payment: Payment, amount_minor: int, idempotency_key: str) -> str: ...

    def parse_webhook(self, *, body: bytes, headers: Mapping[str, str]) -> ProviderEvent: ...


def sign_payload(*, secret: str, timestamp: int, body: bytes) -> str:
    """Stripe's scheme: t=<unix time>,v1=<hex HMAC-SHA256 of "<t>.<body>">."""
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def verify_signature(
    *, secret: str, header: str, body: bytes, tolerance: int, now: float | None = None
) -> None:
    """Raises WebhookRejected unless `header` signs `body` with `secret`, recently.

    Timestamps too far in the future are refused as well as stale ones: a
    captured request must not be replayable later by moving its clock ahead.
    """
    if not secret:
        # An empty key would let anyone sign: an unconfigured provider accepts nothing.
        raise WebhookRejected("bad_signature", "Webhook signing is not configured.")
    # A signature is hex and a timestamp digits: anything else is forged, and
    # compare_digest raises TypeError on a str that is not ASCII.
    if not header.isascii():
        raise WebhookRejected("bad_signature", "Missing or malformed signature header.")
    try:
        parts = dict(part.split("=", 1) for part in header.split(",") if "=" in part)
        timestamp = int(parts["t"])
        signatures = [value for key, value in (p.split("=", 1) for p in header.split(",")) if key == "v1"]
    except (KeyError, ValueError) as exc:
        raise WebhookRejected("bad_signature", "Missing or malformed signature header.") from exc
    expected = sign_payload(secret=secret, timestamp=timestamp, body=body).split("v1=", 1)[1]
    if not any(hmac.compare_digest(expected, candidate) for candidate in signatures):
        raise WebhookRejected("bad_signature", "The signature does not match.")
    age = (now if now is not None else time.time()) - timestamp
    if age > tolerance:
        raise WebhookRejected("stale_timestamp", "The event is too old.")
    if age < -tolerance:
        raise WebhookRejected("future_timestamp", "The event is dated in the future.")
