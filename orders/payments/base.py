"""What Brigade needs from a payment provider, and what it hears back."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from restaurant.signing import SignatureError, signature_check, signature_header

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
    """The signature header a provider sends (restaurant/signing.py), as the sandbox signs its events."""
    return signature_header(secret, timestamp, body)


# restaurant.signing's reasons, as this door's error codes and messages.
_REJECTIONS = {
    "malformed": ("bad_signature", "Missing or malformed signature header."),
    "mismatch": ("bad_signature", "The signature does not match."),
    "stale": ("stale_timestamp", "The event is too old."),
    "future": ("future_timestamp", "The event is dated in the future."),
}


def verify_signature(
    *, secret: str, header: str, body: bytes, tolerance: int, now: float | None = None
) -> None:
    """Raises WebhookRejected unless `header` signs `body` with `secret`, recently."""
    if not secret:
        # An unconfigured provider accepts nothing.
        raise WebhookRejected("bad_signature", "Webhook signing is not configured.")
    try:
        signature_check(secret=secret, header=header, body=body, tolerance=tolerance, now=now)
    except SignatureError as error:
        raise WebhookRejected(*_REJECTIONS[error.code]) from error
