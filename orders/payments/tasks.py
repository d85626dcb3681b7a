"""Celery tasks about money. Thin: they take ids and call a service.

Names are given explicitly: a queued message or the beat schedule names a
task, and must keep finding it if the code moves.
"""

from __future__ import annotations

from celery import shared_task

from orders.outbox.dead_letters import reliable_task


@reliable_task(name="orders.payment_tasks.deliver_refund")
def deliver_refund(refund_id: int) -> str:
    """Asks the provider for one reserved refund; retried while the provider's answer is unknown."""
    from orders.payments.services import PaymentsUnavailable, refund_deliver

    try:
        return refund_deliver(refund_id=refund_id).status
    except PaymentsUnavailable as error:
        # The provider is down or the breaker is open: try again later, same key.
        raise ConnectionError(str(error)) from error


@shared_task(name="orders.payment_tasks.refunds_sweep")
def refunds_sweep(older_than_seconds: int | None = None) -> int:
    """Beat sends it without arguments; the grace is the service's own."""
    from orders.payments.services import refunds_sweep as sweep

    return sweep() if older_than_seconds is None else sweep(older_than_seconds=older_than_seconds)


@reliable_task(name="orders.payment_tasks.refund_late_payment")
def refund_late_payment(payment_id: int) -> bool:
    """Kept for messages queued before refunds were reserved with the change that owes them."""
    from orders.payments.services import payment_refund_late

    return payment_refund_late(payment_id=payment_id) is not None


@shared_task(name="orders.payment_tasks.orders_expire_unpaid")
def orders_expire_unpaid() -> int:
    from orders.payments.services import orders_expire_unpaid as expire

    return expire()
