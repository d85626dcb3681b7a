"""Reads of orders, with who may see what applied in one place."""

from __future__ import annotations

from collections.abc import Iterable

from django.contrib.auth.models import AnonymousUser
from django.db.models import Case, IntegerField, Prefetch, QuerySet, Value, When

from accounts.models import User
from accounts.permissions import Capability, can
from accounts.roles import Actor
from orders.models import Order, OrderEvent, Payment
from orders.state import (
    KITCHEN_STATUSES,
    OPEN_STATUSES,
    PAYMENT_PAID_STATUSES,
    REFUNDABLE_PAYMENT_STATUSES,
)


def _with_details(queryset: QuerySet[Order]) -> QuerySet[Order]:
    return queryset.prefetch_related(
        "items",
        Prefetch("events", queryset=OrderEvent.objects.order_by("created_at", "id")),
        # Newest first: the order page reads the last attempt and every payment's refund from this one query.
        Prefetch("payments", queryset=Payment.objects.order_by("-created_at", "-id")),
    )


def order_for_viewer(*, tracking_token: str, user: User | AnonymousUser) -> Order | None:
    """The order behind a tracking link, if this visitor may see it.

    A guest order is open to whoever holds its link. An order placed from an
    account stays with that account (and staff): a forwarded link does not
    show a customer's details to someone else.
    """
    order = _with_details(Order.objects.filter(tracking_token=tracking_token)).first()
    if order is None or not _may_view(customer_id=order.customer_id, user=user):
        return None
    return order


def order_id_for_viewer(*, tracking_token: str, user: User | AnonymousUser) -> int | None:
    """order_for_viewer's answer as an id, in one small query: what a live socket asks on every ping."""
    found = Order.objects.filter(tracking_token=tracking_token).values_list("pk", "customer_id").first()
    if found is None or not _may_view(customer_id=found[1], user=user):
        return None
    return found[0]


def order_versions(*, order_ids: Iterable[int]) -> dict[int, int]:
    """Each order's version, its live pages' seq: what a round of guests' pings asks (restaurant.sockets)."""
    return dict(Order.objects.filter(pk__in=list(order_ids)).values_list("pk", "version"))


def _may_view(*, customer_id: int | None, user: User | AnonymousUser) -> bool:
    if customer_id is None:
        return True
    return user.is_authenticated and (customer_id == user.pk or can(user, Capability.SEE_ANY_ORDER))


def orders_of_customer(*, user: User) -> QuerySet[Order]:
    return Order.objects.filter(customer=user).prefetch_related("items").order_by("-created_at")


def order_refundable_payment(*, order: Order) -> Payment | None:
    """The payment a refund of this order goes against, None if no money was taken.

    The one that paid the order (the first, should another arrive late: that
    one goes back by itself); failing that, the newest that took money without
    paying the order (an amount mismatch), so what is left of it can go back.
    """
    took_money = order.payments.filter(status__in=REFUNDABLE_PAYMENT_STATUSES)
    paying = took_money.filter(status__in=PAYMENT_PAID_STATUSES).order_by("created_at", "id").first()
    return paying or took_money.order_by("-created_at", "-id").first()


def order_paid_online(*, order: Order) -> bool:
    payment = order_refundable_payment(order=order)
    return payment is not None and payment.status in PAYMENT_PAID_STATUSES


FLOOR_LIMIT = 200


def floor_open_orders() -> QuerySet[Order]:
    """Open orders in the floor's order: paid ones, then tables' own, then unpaid, newest first in each.

    Anyone can place unpaid orders by the hundred; ranking them last means a
    flood of them never pushes an order the kitchen is cooking, or a table's
    order a waiter took, off the page.
    """
    rank = Case(
        When(status__in=KITCHEN_STATUSES, then=Value(0)),
        When(placed_by__isnull=False, then=Value(1)),
        default=Value(2),
        output_field=IntegerField(),
    )
    return (
        Order.objects.filter(status__in=OPEN_STATUSES)
        .select_related("placed_by")
        .prefetch_related("items")
        .order_by(rank, "-created_at", "-id")
    )


def orders_for_api(*, actor: Actor) -> QuerySet[Order]:
    """The orders an API caller follows: a partner its own, a person the ones placed from their account.

    Newest first by number (the primary key), which only grows: a cursor over
    it stays put while new orders arrive at the top.
    """
    if actor.partner_id is not None:
        mine = Order.objects.filter(partner_id=actor.partner_id)
    elif actor.user is not None:
        mine = Order.objects.filter(customer=actor.user)
    else:
        mine = Order.objects.none()
    return mine.prefetch_related("items").order_by("-pk")


def order_for_api(*, number: int, actor: Actor) -> Order | None:
    """One order by its number, if this caller may see it: its partner, its customer, or staff."""
    order = _with_details(Order.objects.filter(pk=number)).first()
    if order is None:
        return None
    if actor.partner_id is not None:
        return order if order.partner_id == actor.partner_id else None
    if order.partner_id is None and actor.user is not None and order.customer_id == actor.user.pk:
        return order
    return order if can(actor, Capability.SEE_ANY_ORDER) else None
