"""Emails to customers about their orders.

Anyone can type any address at checkout, so an order's contact email is not
proven to be the orderer's. A mail to an address nobody proved carries our
own wording only (order number, items by our menu's names, totals, status,
our links): never text a visitor typed (name, instructions, address, table,
a cancel reason), or the restaurant would relay a stranger's message to that
inbox under its own name. An address is proven when the order belongs to a
signed-in customer who verified that very address (allauth EmailAddress,
verified=True); then their own name and notes may appear.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from allauth.account.models import EmailAddress
from django.conf import settings
from django.core.mail import send_mail
from django.db.models import Model, Q
from django.template.loader import render_to_string
from django.utils import timezone

from orders.models import Order, OrderEvent, OrderStatus, OrderType
from orders.payments.models import PaymentStatus, Refund, RefundStatus
from orders.pricing import vat_included
from orders.state import MONEY_TAKEN_STATUSES, PAYMENT_PAID_STATUSES

logger = logging.getLogger(__name__)
# How the audit trail names our own code as the actor (accounts.roles.Actor.system).
SYSTEM_ACTOR_PREFIX = "system:"


def contact_email_proven(order: Order) -> bool:
    """Whether the order's contact email is its customer's own, verified address."""
    if order.customer_id is None or not order.contact_email:
        return False
    return EmailAddress.objects.filter(
        user_id=order.customer_id, email__iexact=order.contact_email, verified=True
    ).exists()


class EmailClaimed(Exception):
    """Another worker claimed sending this email and its claim has not expired: look again later."""

    def __init__(self, *, order_id: int, retry_in: float) -> None:
        super().__init__(f"order {order_id}: email claimed by another worker")
        self.retry_in = retry_in


def _send_once(
    *,
    row_id: int,
    sent_field: str,
    claim_field: str,
    applies: Callable[[Any], bool],
    subject: str,
    template: str,
    context: Callable[[Any], dict[str, Any]],
    model: type[Model] = Order,
    order_of: Callable[[Any], Order] = lambda row: row,
) -> bool:
    """Sends one kind of email about an order at most once, with no row locked while it sends.

    The send is claimed with a conditional UPDATE that expires
    (ORDER_EMAIL_CLAIM_SECONDS): a second delivery of the same task finds the
    claim and raises EmailClaimed (its task tries again once the claim could
    have expired), or finds the email sent. A worker killed mid-send leaves a
    claim that expires, so the email still goes out. Returns whether this call
    sent it. The claim and the sent mark are on the order's row (`row_id` is
    the order's id), or on `model`'s row (a refund: one email per refund,
    however many an order has), with `order_of` its order.
    """
    now = timezone.now()
    claim_until = now + timedelta(seconds=settings.ORDER_EMAIL_CLAIM_SECONDS)
    rows = model._default_manager.all()
    unsent = rows.filter(pk=row_id, **{f"{sent_field}__isnull": True})
    free = Q(**{f"{claim_field}__isnull": True}) | Q(**{f"{claim_field}__lt": now})
    if unsent.filter(free).update(**{claim_field: claim_until}) != 1:
        claimed = unsent.values_list(claim_field, flat=True).first()
        if claimed is None:
            return False  # sent already (or no such row)
        raise EmailClaimed(order_id=row_id, retry_in=max((claimed - now).total_seconds(), 0.0) + 1.0)
    ours = rows.filter(pk=row_id, **{claim_field: claim_until})
    try:
        row = rows.get(pk=row_id)
        if not applies(row):
            ours.update(**{claim_field: None})
            return False
        order = order_of(row)
        send_mail(
            subject=f"{settings.BRIGADE_RESTAURANT_NAME}: order {order.number} {subject}",
            message=render_to_string(
                template,
                {
                    "order": order,
                    "restaurant": settings.BRIGADE_RESTAURANT_NAME,
                    "address_proven": contact_email_proven(order),
                    **context(row),
                },
            ),
            from_email=settings.DEFAULT_FROM_EMAIL,
            recipient_list=[order.contact_email],
        )
    except BaseException:
        # Not sent: the next try may claim it at once.
        ours.update(**{claim_field: None})
        raise
    ours.update(**{sent_field: timezone.now(), claim_field: None})
    logger.info("order email sent", extra={"order_id": order.pk, "email": sent_field})
    return True


# How a receipt names the provider that took the money.
PROVIDER_LABELS = {"stripe": "card (Stripe)", "sandbox": "sandbox test payment"}


def _receipt_context(order: Order) -> dict[str, Any]:
    """The confirmation is the receipt: lines, the VAT the total includes, and how it was paid."""
    payments = [
        {
            "how": PROVIDER_LABELS.get(payment.provider, payment.provider),
            "amount_minor": payment.taken_minor,
            "currency": payment.taken_currency,
        }
        for payment in order.payments.filter(status__in=PAYMENT_PAID_STATUSES).order_by("created_at")
    ]
    return {
        "items": list(order.items.all()),
        "order_url": settings.BRIGADE_BASE_URL + order.get_absolute_url(),
        "vat_percent": f"{settings.BRIGADE_VAT_PERCENT.normalize():f}",
        "vat_minor": vat_included(order.total_minor),
        "payments": payments,
    }


def order_confirmation_send(*, order_id: int) -> bool:
    """The confirmation and receipt, once the order is paid; never for an unpaid order (a stray message)."""
    return _send_once(
        row_id=order_id,
        sent_field="confirmation_sent_at",
        claim_field="confirmation_claimed_until",
        applies=lambda order: order.status in MONEY_TAKEN_STATUSES,
        subject="confirmed: your receipt",
        template="orders/email/confirmation.txt",
        context=_receipt_context,
    )


def order_ready_send(*, order_id: int) -> bool:
    """Tells a pickup customer their order waits at the pass; once, even if a recall readies it again.

    Only while it is still ready when the worker gets to it: one already
    picked up (or refunded) needs no call to come.
    """
    return _send_once(
        row_id=order_id,
        sent_field="ready_sent_at",
        claim_field="ready_claimed_until",
        applies=lambda order: order.order_type == OrderType.PICKUP and order.status == OrderStatus.READY,
        subject="is ready for pickup",
        template="orders/email/ready.txt",
        context=lambda order: {"order_url": settings.BRIGADE_BASE_URL + order.get_absolute_url()},
    )


def refund_email_send(*, refund_id: int) -> bool:
    """Tells the customer money went back, and how much: once per refund the provider confirmed."""
    return _send_once(
        row_id=refund_id,
        model=Refund,
        order_of=lambda refund: refund.payment.order,
        sent_field="email_sent_at",
        claim_field="email_claimed_until",
        applies=lambda refund: refund.status == RefundStatus.SUCCEEDED,
        subject="refund",
        template="orders/email/refund.txt",
        context=lambda refund: {
            "amount_minor": refund.amount_minor,
            "currency": refund.payment.taken_currency,
            "fully": refund.payment.status == PaymentStatus.REFUNDED,
            "order_url": settings.BRIGADE_BASE_URL + refund.payment.order.get_absolute_url(),
        },
    )


def _our_own_words(event: OrderEvent) -> bool:
    """A reason our code wrote ("payment not received in time"), not one a person typed."""
    return event.actor_id is None and event.actor_label.startswith(SYSTEM_ACTOR_PREFIX)


def _cancellation_context(order: Order) -> dict[str, Any]:
    event = order.events.filter(to_status=OrderStatus.CANCELLED).order_by("-created_at", "-id").first()
    reason = ""
    if event is not None and (_our_own_words(event) or contact_email_proven(order)):
        reason = event.reason
    return {"reason": reason, "menu_url": settings.BRIGADE_BASE_URL + "/"}


def order_cancellation_send(*, order_id: int) -> bool:
    """Tells the customer their unpaid order was cancelled, and why."""
    return _send_once(
        row_id=order_id,
        sent_field="cancellation_sent_at",
        claim_field="cancellation_claimed_until",
        applies=lambda order: order.status == OrderStatus.CANCELLED,
        subject="cancelled",
        template="orders/email/cancellation.txt",
        context=_cancellation_context,
    )
