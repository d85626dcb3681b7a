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
from typing import Any

from allauth.account.models import EmailAddress
from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
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


def _send_once(
    *,
    order_id: int,
    sent_field: str,
    applies: Callable[[Order], bool],
    subject: str,
    template: str,
    context: Callable[[Order], dict[str, Any]],
) -> bool:
    """Sends one kind of email about an order at most once.

    The order row stays locked while the mail is handed to the relay, so a
    second delivery of the same task waits and then finds it sent. Returns
    whether this call sent it.
    """
    with transaction.atomic():
        order = Order.objects.select_for_update().get(pk=order_id)
        if getattr(order, sent_field) is not None or not applies(order):
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
        setattr(order, sent_field, timezone.now())
        order.save(update_fields=[sent_field])
    logger.info("order email sent", extra={"order_id": order_id, "email": sent_field})
    return True


def order_confirmation_send(*, order_id: int) -> bool:
    """The confirmation, once the order is paid; never for an unpaid order (a stray message)."""
    return _send_once(
        order_id=order_id,
        sent_field="confirmation_sent_at",
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
        applies=lambda order: order.status == OrderStatus.CANCELLED,
        subject="cancelled",
        template="orders/email/cancellation.txt",
        context=_cancellation_context,
    )
