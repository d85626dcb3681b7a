"""Celery tasks about money. Thin: they take ids and call a service."""

from __future__ import annotations

from celery import shared_task

from orders.tasks import reliable_task


@reliable_task
def refund_late_payment(payment_id: int) -> bool:
    from orders.payments.services import PaymentsUnavailable, payment_refund_late

    try:
        return payment_refund_late(payment_id=payment_id) is not None
    except PaymentsUnavailable as error:
        # The provider is down or the breaker is open: try again later.
        raise ConnectionError(str(error)) from error


@shared_task
def orders_expire_unpaid() -> int:
    from orders.payments.services import orders_expire_unpaid as expire

    return expire()
