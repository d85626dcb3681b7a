"""Stripe Checkout: a hosted payment page, confirmed to us by signed webhooks.

Keys come from the environment (STRIPE_SECRET_KEY, STRIPE_WEBHOOK_SECRET);
STRIPE_API_BASE points the client elsewhere (tests use a local fake of
Stripe's API). https://docs.stripe.com/payments/checkout
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import TYPE_CHECKING

import stripe
from django.conf import settings

from orders.payments.base import (
    PAYMENT_FAILED,
    PAYMENT_SUCCEEDED,
    Charge,
    CheckoutSession,
    ProviderError,
    ProviderEvent,
    ProviderRefused,
    WebhookRejected,
    verify_signature,
)

if TYPE_CHECKING:
    from stripe._base_address import BaseAddresses
    from stripe.params.checkout import SessionCreateParams, SessionCreateParamsLineItem

    from orders.models import Payment

SIGNATURE_HEADER = "Stripe-Signature"

# Stripe event type -> what it means for us. A completed session is paid only
# when its payment_status says so (delayed methods complete unpaid).
_EVENT_TYPES = {
    "checkout.session.completed": PAYMENT_SUCCEEDED,
    "checkout.session.async_payment_succeeded": PAYMENT_SUCCEEDED,
    "checkout.session.async_payment_failed": PAYMENT_FAILED,
    "checkout.session.expired": PAYMENT_FAILED,
}


# Stripe answered and said no: asking again with the same key gets the same
# answer. Anything else (connection, rate limit, 5xx) may succeed on a retry.
_REFUSALS = (stripe.InvalidRequestError, stripe.CardError, stripe.PermissionError)


class StripeProvider:
    name = "stripe"

    def _client(self) -> stripe.StripeClient:
        if not settings.STRIPE_SECRET_KEY:
            raise ProviderError("STRIPE_SECRET_KEY is not set.")
        base: BaseAddresses | None = {"api": settings.STRIPE_API_BASE} if settings.STRIPE_API_BASE else None
        return stripe.StripeClient(
            settings.STRIPE_SECRET_KEY,
            base_addresses=base,
            # Our circuit breaker and the customer's retry decide about retries.
            max_network_retries=0,
            http_client=stripe.RequestsClient(timeout=(3, 15)),
        )

    def create_checkout(self, *, charge: Charge, payment_key: str, return_url: str) -> CheckoutSession:
        params: SessionCreateParams = {
            "mode": "payment",
            "client_reference_id": charge.reference,
            "metadata": dict(charge.metadata),
            "success_url": return_url,
            "cancel_url": return_url,
            "line_items": _line_items(charge),
        }
        if charge.email:
            params["customer_email"] = charge.email
        try:
            session = self._client().v1.checkout.sessions.create(
                params=params, options={"idempotency_key": payment_key}
            )
        except stripe.StripeError as error:
            raise ProviderError(f"Stripe refused the checkout: {type(error).__name__}") from error
        return CheckoutSession(provider_ref=session.id, redirect_url=session.url)  # type: ignore[arg-type]  # hosted sessions have one

    def refund(self, *, payment: Payment, amount_minor: int, idempotency_key: str) -> str:
        client = self._client()
        try:
            session = client.v1.checkout.sessions.retrieve(payment.provider_ref)
            refund = client.v1.refunds.create(
                params={"payment_intent": session.payment_intent, "amount": amount_minor},  # type: ignore[arg-type]
                options={"idempotency_key": idempotency_key},
            )
        except _REFUSALS as error:
            raise ProviderRefused(f"Stripe refused the refund: {type(error).__name__}") from error
        except stripe.StripeError as error:
            raise ProviderError(f"Stripe failed the refund: {type(error).__name__}") from error
        return refund.id

    def parse_webhook(self, *, body: bytes, headers: Mapping[str, str]) -> ProviderEvent:
        # Stripe signs the way we do (t=…,v1=HMAC-SHA256 of "<t>.<body>"), so
        # one verification serves both: it refuses far-future timestamps too,
        # which the library does not, and a non-ASCII header, on which the
        # library's compare_digest raises TypeError.
        verify_signature(
            secret=settings.STRIPE_WEBHOOK_SECRET,
            header=headers.get(SIGNATURE_HEADER, ""),
            body=body,
            tolerance=settings.PAYMENT_WEBHOOK_TOLERANCE_SECONDS,
        )
        try:
            event = json.loads(body)
        except ValueError as error:
            raise WebhookRejected("malformed", "The event body is not JSON.") from error
        kind = _EVENT_TYPES.get(event["type"])
        if kind is None:
            raise WebhookRejected("unknown_event_type", "This event type is not handled.")
        session = event["data"]["object"]
        if event["type"] == "checkout.session.completed" and session.get("payment_status") != "paid":
            raise WebhookRejected("unknown_event_type", "The session completed without payment yet.")
        amount, currency = session.get("amount_total"), session.get("currency")
        if kind == PAYMENT_SUCCEEDED and (not isinstance(amount, int) or not isinstance(currency, str)):
            raise WebhookRejected("malformed", "A paid session must say its amount and currency.")
        return ProviderEvent(
            event_id=event["id"],
            type=kind,
            provider_ref=session["id"],
            amount_minor=amount,
            # Stripe writes currencies in lower case; we keep ISO 4217's upper case.
            currency=currency.upper() if isinstance(currency, str) else None,
        )


def _line_items(charge: Charge) -> list[SessionCreateParamsLineItem]:
    """What Stripe shows and charges: the charge's lines, which add up to its amount."""
    return [
        {
            "quantity": line.quantity,
            "price_data": {
                "currency": charge.currency.lower(),
                "unit_amount": line.unit_amount_minor,
                "product_data": {"name": line.name},
            },
        }
        for line in charge.lines
    ]
