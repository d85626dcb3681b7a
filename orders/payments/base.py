"""What Brigade needs from a payment provider, and what it hears back."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from menu.money import format_money
from restaurant.signing import SignatureError, signature_check, signature_header

if TYPE_CHECKING:
    from orders.models import Order, Payment

# Event types Brigade acts on, whatever the provider calls them.
PAYMENT_SUCCEEDED = "payment.succeeded"
PAYMENT_FAILED = "payment.failed"
KNOWN_EVENT_TYPES = frozenset({PAYMENT_SUCCEEDED, PAYMENT_FAILED})


@dataclass(frozen=True)
class ChargeLine:
    name: str
    quantity: int
    unit_amount_minor: int


@dataclass(frozen=True)
class Charge:
    """What one checkout at the provider asks for: an order, or a table's whole tab.

    `lines` always add up to `amount_minor`: the provider shows them and
    charges their sum, and a different sum would come back as a mismatch.
    """

    # Our id for it, which the provider files the checkout under.
    reference: str
    metadata: Mapping[str, str]
    # Empty: the provider asks the payer.
    email: str
    currency: str
    amount_minor: int
    lines: tuple[ChargeLine, ...]


def charge_for_order(order: Order) -> Charge:
    """An order's charge: its lines, or one line of its total after a discount.

    Providers take no negative line (Stripe's own discounts need a coupon
    made there), so a discounted order is one line of what it asks.
    """
    if order.discount_minor:
        discount = format_money(order.discount_minor, order.currency)
        lines: tuple[ChargeLine, ...] = (
            ChargeLine(f"Order {order.number} (code {order.coupon_code}: -{discount})", 1, order.total_minor),
        )
    else:
        lines = tuple(
            ChargeLine(line.name, line.quantity, line.unit_price_minor) for line in order.items.all()
        )
    return Charge(
        reference=str(order.pk),
        metadata={"order_id": str(order.pk)},
        email=order.contact_email,
        currency=order.currency,
        amount_minor=order.total_minor,
        lines=lines,
    )


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

    def create_checkout(self, *, charge: Charge, payment_key: str, return_url: str) -> CheckoutSession: ...

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
