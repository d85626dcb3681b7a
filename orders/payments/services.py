"""Every write about money: starting a payment, the provider's events, refunds, expiry."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

import pybreaker
from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.roles import Actor
from menu.money import format_money
from orders.models import (
    REFUNDABLE_PAYMENT_STATUSES,
    Order,
    OrderEvent,
    OrderStatus,
    Payment,
    PaymentStatus,
    PaymentWebhookEvent,
    Refund,
)
from orders.payments import get_provider
from orders.payments.base import PAYMENT_SUCCEEDED, CheckoutSession, ProviderError, ProviderEvent
from orders.services import order_cancel, order_transition
from restaurant.errors import ApplicationError, Conflict

logger = logging.getLogger(__name__)

PAYMENTS = Actor.system("payments")

# Statuses an order can be refunded from (money was taken).
_ORDER_REFUNDABLE = frozenset(
    {OrderStatus.PAID, OrderStatus.IN_PREPARATION, OrderStatus.READY, OrderStatus.COMPLETED}
)


class PaymentsUnavailable(ApplicationError):
    status = 503
    default_code = "payments_unavailable"


# ------------------------------------------------------------------ circuit breaker

_breaker: pybreaker.CircuitBreaker | None = None


def payment_breaker() -> pybreaker.CircuitBreaker:
    """One breaker around every call to the provider, shared by all processes via Redis.

    After PAYMENT_BREAKER_FAIL_MAX failures in a row it opens: calls fail at
    once for PAYMENT_BREAKER_RESET_SECONDS instead of making every customer
    wait for a provider that is down. https://github.com/danielfm/pybreaker
    """
    global _breaker
    if _breaker is None:
        storage: Any = None
        if settings.REDIS_URL:
            import redis

            storage = pybreaker.CircuitRedisStorage(
                pybreaker.STATE_CLOSED,
                redis.Redis.from_url(settings.REDIS_URL, socket_timeout=2, socket_connect_timeout=2),
                namespace="brigade:payments",
            )
        _breaker = pybreaker.CircuitBreaker(
            fail_max=settings.PAYMENT_BREAKER_FAIL_MAX,
            reset_timeout=settings.PAYMENT_BREAKER_RESET_SECONDS,
            state_storage=storage,
            name="payments",
        )
    return _breaker


def payments_available() -> bool:
    return payment_breaker().current_state != pybreaker.STATE_OPEN


def _call_provider(function: Any, **kwargs: Any) -> Any:
    try:
        return payment_breaker().call(function, **kwargs)
    except pybreaker.CircuitBreakerError as error:
        raise PaymentsUnavailable(
            "Payments are temporarily unavailable. Please try again in a few minutes."
        ) from error
    except ProviderError as error:
        logger.warning("payment provider call failed", extra={"error": str(error)})
        raise PaymentsUnavailable(
            "Payments are temporarily unavailable. Please try again in a few minutes."
        ) from error


# ------------------------------------------------------------------ paying


def payment_start(*, order: Order, return_url: str) -> CheckoutSession:
    """Opens a checkout at the provider for what the order still owes.

    The Payment row is written only once the provider has answered, so a
    failing or open-circuit provider leaves nothing half-created.
    """
    if order.status != OrderStatus.AWAITING_PAYMENT:
        raise Conflict("This order is not waiting for payment.", code="not_awaiting_payment")
    provider = get_provider()
    attempt = order.payments.count() + 1
    session: CheckoutSession = _call_provider(
        provider.create_checkout,
        order=order,
        payment_key=f"order-{order.pk}-attempt-{attempt}",
        return_url=return_url,
    )
    Payment.objects.create(
        order=order,
        provider=provider.name,
        provider_ref=session.provider_ref,
        amount_minor=order.total_minor,
        currency=order.currency,
    )
    logger.info("payment started", extra={"order_id": order.pk, "provider": provider.name})
    return session


def payment_webhook_handle(*, provider_name: str, event: ProviderEvent) -> str:
    """Applies one provider event, once. Returns what happened, for the log."""
    with transaction.atomic():
        try:
            with transaction.atomic():
                record = PaymentWebhookEvent.objects.create(
                    provider=provider_name, event_id=event.event_id, event_type=event.type
                )
        except IntegrityError:
            # The provider sent this event before (or is sending it right now).
            return "duplicate"
        payment = (
            Payment.objects.select_for_update()
            .select_related("order")
            .filter(provider=provider_name, provider_ref=event.provider_ref)
            .first()
        )
        if payment is None:
            outcome = "unknown_payment"
        elif event.type == PAYMENT_SUCCEEDED:
            outcome = _payment_succeeded(payment)
        else:
            outcome = _payment_failed(payment)
        record.payment = payment
        record.outcome = outcome
        record.save(update_fields=["payment", "outcome"])
    logger.info(
        "payment event handled",
        extra={"provider": provider_name, "event_type": event.type, "outcome": outcome},
    )
    return outcome


def _payment_succeeded(payment: Payment) -> str:
    if payment.status != PaymentStatus.PENDING and payment.status != PaymentStatus.FAILED:
        return "already_recorded"
    payment.status = PaymentStatus.SUCCEEDED
    payment.save(update_fields=["status", "updated_at"])
    order = payment.order
    if order.status == OrderStatus.AWAITING_PAYMENT:
        order_transition(
            order=order, to_status=OrderStatus.PAID, actor=PAYMENTS, reason=f"paid via {payment.provider}"
        )
        return "order_paid"
    # Money arrived for an order that expired, was cancelled or was already
    # paid by another attempt: give it back without anyone having to notice.
    transaction.on_commit(lambda: _enqueue_automatic_refund(payment.pk))
    return "refund_scheduled"


def _enqueue_automatic_refund(payment_id: int) -> None:
    from orders.payment_tasks import refund_late_payment

    refund_late_payment.delay(payment_id)


def _payment_failed(payment: Payment) -> str:
    if payment.status != PaymentStatus.PENDING:
        return "ignored"
    payment.status = PaymentStatus.FAILED
    payment.save(update_fields=["status", "updated_at"])
    # The order keeps waiting: the customer can try again until it expires.
    return "payment_failed"


# ------------------------------------------------------------------ refunds


def payment_refund(*, payment_id: int, amount_minor: int, actor: Actor, reason: str) -> Refund:
    """Gives money back through the provider, and records it in the audit trail.

    A full refund of a paid order also moves the order to "refunded".
    """
    payment = Payment.objects.select_related("order").get(pk=payment_id)
    if not reason.strip():
        raise ApplicationError("Say why the money goes back.", code="reason_required")
    if not 0 < amount_minor <= payment.refundable_minor:
        raise ApplicationError(
            f"Refund between {format_money(1, payment.currency)} and "
            f"{format_money(payment.refundable_minor, payment.currency)}.",
            code="invalid_refund_amount",
        )
    provider = get_provider(payment.provider)
    provider_ref = _call_provider(
        provider.refund,
        payment=payment,
        amount_minor=amount_minor,
        idempotency_key=f"refund-{payment.pk}-{payment.refunded_minor}-{amount_minor}",
    )
    with transaction.atomic():
        payment = Payment.objects.select_for_update().select_related("order").get(pk=payment_id)
        if amount_minor > payment.refundable_minor:
            raise Conflict("Someone refunded this payment just now.", code="refund_conflict")
        refund = Refund.objects.create(
            payment=payment,
            amount_minor=amount_minor,
            provider_ref=provider_ref,
            reason=reason[:500],
            actor_label=actor.label[:150],
        )
        payment.refunded_minor += amount_minor
        fully = payment.refunded_minor == payment.amount_minor
        payment.status = PaymentStatus.REFUNDED if fully else PaymentStatus.PARTIALLY_REFUNDED
        payment.save(update_fields=["refunded_minor", "status", "updated_at"])
        order = payment.order
        note = f"refund of {format_money(amount_minor, payment.currency)}: {reason}"
        if fully and order.status in _ORDER_REFUNDABLE:
            order_transition(order=order, to_status=OrderStatus.REFUNDED, actor=actor, reason=note)
        else:
            OrderEvent.objects.create(
                order=order,
                from_status=order.status,
                to_status=order.status,
                actor=actor.user,
                actor_label=actor.label[:150],
                reason=note[:500],
            )
    logger.info("payment refunded", extra={"payment_id": payment_id, "amount_minor": amount_minor})
    return refund


def order_cancel_paid(*, order: Order, actor: Actor, expected_version: int | None = None) -> Order:
    """A customer calls off their paid order before the kitchen starts it.

    The order moves to "refunded" first: of this and a chef starting it at the
    same moment exactly one wins, so money never goes back for food being
    cooked. The money then goes back by a task, retried and dead-lettered like
    any other, so a provider hiccup delays the refund but never loses it.
    """
    payment = order.payments.filter(status__in=REFUNDABLE_PAYMENT_STATUSES).first()
    if payment is None:
        raise ApplicationError(
            "This order was not paid online; ask a member of staff.", code="no_online_payment"
        )
    with transaction.atomic():
        order = order_transition(
            order=order,
            to_status=OrderStatus.REFUNDED,
            actor=actor,
            reason="cancelled by the customer before preparation",
            expected_version=expected_version,
        )
        transaction.on_commit(lambda: _enqueue_automatic_refund(payment.pk))
    return order


def payment_refund_late(*, payment_id: int) -> Refund | None:
    """Refunds in full a payment that arrived after its order closed.

    Scheduled only for a payment that did not pay its order; idempotent, since
    a redelivered task finds nothing left to refund.
    """
    payment = Payment.objects.get(pk=payment_id)
    if payment.refundable_minor == 0:
        return None
    return payment_refund(
        payment_id=payment_id,
        amount_minor=payment.refundable_minor,
        actor=PAYMENTS,
        reason="the order was called off or closed before this payment counted",
    )


# ------------------------------------------------------------------ expiry


def orders_expire_unpaid(*, now: Any = None) -> int:
    """Cancels orders whose payment did not arrive in time; returns how many."""
    cutoff = (now or timezone.now()) - timedelta(minutes=settings.PAYMENT_TIMEOUT_MINUTES)
    expired = 0
    for order in Order.objects.filter(status=OrderStatus.AWAITING_PAYMENT, created_at__lt=cutoff).order_by(
        "pk"
    ):
        try:
            order_cancel(order=order, actor=Actor.system("expiry"), reason="payment not received in time")
        except Conflict:
            continue  # paid or cancelled meanwhile
        expired += 1
    return expired
