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
from django.db.models import Q
from django.template.loader import render_to_string
from django.utils import timezone

from orders.models import Order, OrderEvent, OrderStatus
from orders.state import MONEY_TAKEN_STATUSES

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
    order_id: int,
    sent_field: str,
    claim_field: str,
    applies: Callable[[Order], bool],
    subject: str,
    template: str,
    context: Callable[[Order], dict[str, Any]],
) -> bool:
    """Sends one kind of email about an order at most once, with no row locked while it sends.

    The send is claimed with a conditional UPDATE that expires
    (ORDER_EMAIL_CLAIM_SECONDS): a second delivery of the same task finds the
    claim and raises EmailClaimed (its task tries again once the claim could
    have expired), or finds the email sent. A worker killed mid-send leaves a
    claim that expires, so the email still goes out. Returns whether this call
    sent it.
    """
    now = timezone.now()
    claim_until = now + timedelta(seconds=settings.ORDER_EMAIL_CLAIM_SECONDS)
    unsent = Order.objects.filter(pk=order_id, **{f"{sent_field}__isnull": True})
    free = Q(**{f"{claim_field}__isnull": True}) | Q(**{f"{claim_field}__lt": now})
    if unsent.filter(free).update(**{claim_field: claim_until}) != 1:
        claimed = unsent.values_list(claim_field, flat=True).first()
        if claimed is None:
            return False  # sent already (or no such order)
        raise EmailClaimed(order_id=order_id, retry_in=max((claimed - now).total_seconds(), 0.0) + 1.0)
    ours = Order.objects.filter(pk=order_id, **{claim_field: claim_until})
    try:
        order = Order.objects.get(pk=order_id)
        if not applies(order):
            ours.update(**{claim_field: None})
            return False
        send_mail(
            subject=f"{settings.BRIGADE_RESTAURANT_NAME}: order {order.number} {subject}",
            message=render_to_string(
                template,
                {
                    "order": order,
                    "restaurant": settings.BRIGADE_RESTAURANT_NAME,
                    "address_proven": contact_email_proven(order),
                    **context(order),
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
    logger.info("order email sent", extra={"order_id": order_id, "email": sent_field})
    return True


def order_confirmation_send(*, order_id: int) -> bool:
    """The confirmation, once the order is paid; never for an unpaid order (a stray message)."""
    return _send_once(
        order_id=order_id,
        sent_field="confirmation_sent_at",
        claim_field="confirmation_claimed_until",
        applies=lambda order: order.status in MONEY_TAKEN_STATUSES,
        subject="confirmed",
        template="orders/email/confirmation.txt",
        context=lambda order: {
            "items": list(order.items.all()),
            "order_url": settings.BRIGADE_BASE_URL + order.get_absolute_url(),
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
        order_id=order_id,
        sent_field="cancellation_sent_at",
        claim_field="cancellation_claimed_until",
        applies=lambda order: order.status == OrderStatus.CANCELLED,
        subject="cancelled",
        template="orders/email/cancellation.txt",
        context=_cancellation_context,
    )
