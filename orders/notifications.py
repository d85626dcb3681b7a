"""Emails to customers about their orders."""

from __future__ import annotations

import logging

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone

from orders.models import Order, OrderStatus

PAID_STATUSES = frozenset(
    {OrderStatus.PAID, OrderStatus.IN_PREPARATION, OrderStatus.READY, OrderStatus.COMPLETED}
)

logger = logging.getLogger(__name__)


def order_confirmation_send(*, order_id: int) -> bool:
    """Sends the order's confirmation email unless it went out already.

    The order row stays locked while the mail is handed to the relay, so a
    second delivery of the same task waits and then finds it sent. Returns
    whether this call sent it.
    """
    with transaction.atomic():
        order = Order.objects.select_for_update().get(pk=order_id)
        # A stale or stray message never confirms an unpaid order.
        if order.confirmation_sent_at is not None or order.status not in PAID_STATUSES:
            return False
        context = {
            "order": order,
            "items": list(order.items.all()),
            "restaurant": settings.BRIGADE_RESTAURANT_NAME,
            "order_url": settings.BRIGADE_BASE_URL + order.get_absolute_url(),
        }
        send_mail(
            subject=f"{settings.BRIGADE_RESTAURANT_NAME}: order {order.number} confirmed",
            message=render_to_string("orders/email/confirmation.txt", context),
            from_email=settings.DEFAULT_FROM_EMAIL,
            recipient_list=[order.contact_email],
        )
        order.confirmation_sent_at = timezone.now()
        order.save(update_fields=["confirmation_sent_at"])
    logger.info("order confirmation sent", extra={"order_id": order_id})
    return True


def order_cancellation_send(*, order_id: int) -> bool:
    """Tells the customer their unpaid order was cancelled, and why; once per order."""
    with transaction.atomic():
        order = Order.objects.select_for_update().get(pk=order_id)
        if order.cancellation_sent_at is not None or order.status != OrderStatus.CANCELLED:
            return False
        event = order.events.filter(to_status=OrderStatus.CANCELLED).order_by("-created_at", "-id").first()
        context = {
            "order": order,
            "reason": event.reason if event else "",
            "restaurant": settings.BRIGADE_RESTAURANT_NAME,
            "menu_url": settings.BRIGADE_BASE_URL + "/",
        }
        send_mail(
            subject=f"{settings.BRIGADE_RESTAURANT_NAME}: order {order.number} cancelled",
            message=render_to_string("orders/email/cancellation.txt", context),
            from_email=settings.DEFAULT_FROM_EMAIL,
            recipient_list=[order.contact_email],
        )
        order.cancellation_sent_at = timezone.now()
        order.save(update_fields=["cancellation_sent_at"])
    logger.info("order cancellation sent", extra={"order_id": order_id})
    return True
