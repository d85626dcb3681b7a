"""Payment providers behind one small interface, chosen by settings.PAYMENT_PROVIDER."""

from __future__ import annotations

from orders.payments.base import PaymentProvider


def get_provider(name: str | None = None) -> PaymentProvider:
    from django.conf import settings

    from orders.payments.sandbox import SandboxProvider
    from orders.payments.stripe_provider import StripeProvider

    providers: dict[str, type[PaymentProvider]] = {"sandbox": SandboxProvider, "stripe": StripeProvider}
    chosen = name or settings.PAYMENT_PROVIDER
    if chosen not in providers:
        raise LookupError(chosen)
    return providers[chosen]()


def provider_names() -> tuple[str, ...]:
    return ("sandbox", "stripe")
