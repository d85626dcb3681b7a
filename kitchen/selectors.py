"""What the kitchen sees: paid orders only, oldest first."""

from __future__ import annotations

from django.db.models import QuerySet

from orders.models import Order
from orders.state import KITCHEN_STATUSES


def board_orders() -> QuerySet[Order]:
    return (
        Order.objects.filter(status__in=KITCHEN_STATUSES)
        .prefetch_related("items")
        .order_by("created_at", "id")
    )
