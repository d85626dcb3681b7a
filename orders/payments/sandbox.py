"""The sandbox provider: test payments served by Brigade itself.

Its hosted checkout page (clearly labelled: no money moves) lets the tester
approve, decline or make the provider slow. It then behaves as a real
provider: it signs an event and POSTs it to our webhook endpoint over HTTP,
from its own thread, retrying a few times if our endpoint does not answer.
"""

from __future__ import annotations

import hashlib
import json
import logging
import secrets
import threading
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING

import requests
from django.conf import settings
from django.urls import reverse

from orders.payments.base import (
    KNOWN_EVENT_TYPES,
    Charge,
    CheckoutSession,
    ProviderEvent,
    WebhookRejected,
    sign_payload,
    verify_signature,
)

if TYPE_CHECKING:
    from orders.models import Payment

logger = logging.getLogger(__name__)

SIGNATURE_HEADER = "Sandbox-Signature"
SLOW_SECONDS = 8


class SandboxProvider:
    name = "sandbox"

    def create_checkout(self, *, charge: Charge, payment_key: str, return_url: str) -> CheckoutSession:
        reference = f"sbx_{secrets.token_urlsafe(16)}"
        return CheckoutSession(
            provider_ref=reference, redirect_url=reverse("orders:sandbox_checkout", args=[reference])
        )

    def refund(self, *, payment: Payment, amount_minor: int, idempotency_key: str) -> str:
        # Like a real provider, the same idempotency key is the same refund.
        digest = hashlib.sha256(f"{payment.provider_ref}:{idempotency_key}".encode()).hexdigest()[:24]
        return f"sbx_re_{digest}"

    def parse_webhook(self, *, body: bytes, headers: Mapping[str, str]) -> ProviderEvent:
        verify_signature(
            secret=settings.SANDBOX_WEBHOOK_SECRET,
            header=headers.get(SIGNATURE_HEADER, ""),
            body=body,
            tolerance=settings.PAYMENT_WEBHOOK_TOLERANCE_SECONDS,
        )
        try:
            event = json.loads(body)
            parsed = ProviderEvent(
                event_id=str(event["id"]),
                type=str(event["type"]),
                provider_ref=str(event["data"]["reference"]),
                amount_minor=int(event["data"]["amount"]),
                currency=str(event["data"]["currency"]).upper(),
            )
        except (ValueError, KeyError, TypeError) as exc:
            raise WebhookRejected("malformed", "The event body is not a sandbox event.") from exc
        if parsed.type not in KNOWN_EVENT_TYPES:
            raise WebhookRejected("unknown_event_type", "This event type is not handled.")
        return parsed


def sandbox_event_body(
    *, reference: str, event_type: str, amount_minor: int, currency: str | None = None
) -> bytes:
    """The sandbox's event; it charges in the restaurant's currency unless told otherwise."""
    return json.dumps(
        {
            "id": f"evt_{secrets.token_urlsafe(16)}",
            "type": event_type,
            "created": int(time.time()),
            "data": {
                "reference": reference,
                "amount": amount_minor,
                "currency": (currency or settings.BRIGADE_CURRENCY).lower(),
            },
        }
    ).encode()


def sandbox_sign(body: bytes, *, timestamp: int | None = None) -> str:
    return sign_payload(
        secret=settings.SANDBOX_WEBHOOK_SECRET, timestamp=timestamp or int(time.time()), body=body
    )


def sandbox_deliver(*, body: bytes, delay_seconds: float = 0, attempts: int = 4) -> threading.Thread:
    """Sends a signed event to our webhook endpoint the way a provider's servers would."""
    url = settings.SANDBOX_WEBHOOK_URL

    def send() -> None:
        time.sleep(delay_seconds)
        for attempt in range(attempts):
            try:
                response = requests.post(
                    url,
                    data=body,
                    headers={"Content-Type": "application/json", SIGNATURE_HEADER: sandbox_sign(body)},
                    timeout=10,
                )
                if response.status_code < 300:
                    return
                logger.warning("sandbox webhook refused", extra={"status": response.status_code})
            except requests.RequestException as error:
                logger.warning("sandbox webhook failed", extra={"error": type(error).__name__})
            time.sleep(2**attempt)

    thread = threading.Thread(target=send, name="sandbox-webhook", daemon=True)
    thread.start()
    return thread
