"""Every write to a table's tab: a round goes on it, a round comes off it, the bill is paid.

The tab's row is the lock of the whole tab: every service here takes it
first (select_for_update), so a round added while the bill is being paid
either makes it onto that bill or finds the tab closed, never neither. The
rounds' orders move through orders.services.order_transition like any order,
so each move is checked by the state machine and audited there.
"""

from __future__ import annotations

import logging

from django.db import IntegrityError, transaction
from django.db.models import F, Max
from django.utils import timezone

from accounts.permissions import Capability, can
from accounts.roles import Actor
from orders.models import Order, OrderEvent, OrderEventKind, OrderStatus, OrderType, Payment
from orders.services import cancel_reason, order_transition
from orders.state import FINAL_STATUSES
from orders.tabs.models import Tab, TabPaymentMethod, TabRound, TabStatus
from restaurant.errors import ApplicationError, Conflict, Forbidden, NotFound

logger = logging.getLogger(__name__)

TAB_CLOSED = "This tab is paid and closed: it takes no more changes."
TAB_STALE = "Someone changed this tab just now. The bill is up to date now: check it and try again."


def _locked_tab(tab_id: int) -> Tab:
    tab = Tab.objects.select_for_update().filter(pk=tab_id).first()
    if tab is None:
        raise NotFound("There is no such tab.", code="tab_not_found")
    return tab


def _open_tab_locked(*, table_id: int, currency: str, actor: Actor) -> Tab:
    """The table's open tab, locked; opened now if the table has none."""
    tab = Tab.objects.select_for_update().filter(table_id=table_id, status=TabStatus.OPEN).first()
    if tab is not None:
        return tab
    try:
        with transaction.atomic():
            return Tab.objects.create(table_id=table_id, currency=currency, opened_by=actor.user)
    except IntegrityError:
        # Another waiter opened the table's tab at this very moment
        # (tab_one_open_per_table); its row is committed by now: join it.
        return Tab.objects.select_for_update().get(table_id=table_id, status=TabStatus.OPEN)


def tab_round_add(*, order: Order, actor: Actor) -> Tab:
    """Sends a table's order, just taken by staff, to the kitchen as the next round on the table's tab.

    Opens the table's tab if it has none open. Only an order staff placed for
    a table (Order.placed_by, a dine-in order naming a table) goes on a tab,
    and only by someone holding PUT_ON_TAB: a customer's own order never
    becomes one, whatever it is sent with. The order moves from awaiting
    payment to "on tab" (order_transition), which puts it on the board.
    """
    if not can(actor, Capability.PUT_ON_TAB):
        raise Forbidden("Only waiters and managers put orders on a table's tab.", code="not_floor_staff")
    table_id = order.table_id
    if order.placed_by_id is None or order.order_type != OrderType.DINE_IN or table_id is None:
        raise ApplicationError("Only a table's order taken by staff goes on a tab.", code="not_a_table_order")
    with transaction.atomic():
        tab = _open_tab_locked(table_id=table_id, currency=order.currency, actor=actor)
        if tab.currency != order.currency:
            raise Conflict("This order is in another currency than the table's tab.", code="tab_currency")
        number = (tab.rounds.aggregate(last=Max("number"))["last"] or 0) + 1
        TabRound.objects.create(tab=tab, order=order, number=number)
        Tab.objects.filter(pk=tab.pk).update(version=F("version") + 1)
        order_transition(
            order=order,
            to_status=OrderStatus.ON_TAB,
            actor=actor,
            reason=f"round {number} on tab {tab.number}",
        )
    tab.refresh_from_db()
    logger.info("tab round added", extra={"tab_id": tab.pk, "order_id": order.pk, "round": number})
    return tab


def tab_round_remove(
    *, tab_id: int, order_id: int, actor: Actor, reason: str, expected_version: int
) -> Order:
    """Takes a round off an open tab, with a reason: it no longer counts on the bill.

    Not started by the kitchen, the round is cancelled (no money was taken;
    waiters and managers may). Started or served, it is "refunded": the
    kitchen has used the food, and giving it away is a manager's call (REFUND),
    as a refund is. `expected_version` is the round's order version the page
    showed. A paid tab's rounds are money taken: they go back at the till.
    """
    reason = cancel_reason(actor=actor, reason=reason)
    with transaction.atomic():
        tab = _locked_tab(tab_id)
        if not tab.is_open:
            raise Conflict(TAB_CLOSED, code="tab_closed")
        tab_round = tab.rounds.select_related("order").filter(order_id=order_id).first()
        if tab_round is None:
            raise NotFound("That round is not on this tab.", code="round_not_on_tab")
        order = tab_round.order
        to_status = OrderStatus.CANCELLED if order.status == OrderStatus.ON_TAB else OrderStatus.REFUNDED
        order = order_transition(
            order=order,
            to_status=to_status,
            actor=actor,
            reason=f"round {tab_round.number} taken off tab {tab.number}: {reason}",
            expected_version=expected_version,
        )
        Tab.objects.filter(pk=tab.pk).update(version=F("version") + 1)
    logger.info("tab round removed", extra={"tab_id": tab_id, "order_id": order_id, "to": to_status})
    return order


def tab_settle(*, tab_id: int, method: str, expected_version: int, actor: Actor) -> Tab:
    """Records the whole bill as paid at the till (cash or card), and closes the tab.

    The amount is the tab's own total, counted under the tab's lock from the
    rounds that still count (not cancelled, not refunded), never taken from
    the request. The tab's version must be the one the bill showed: a round
    added or taken off meanwhile changes the total, and the waiter must see
    it first. Paying twice is refused (tab_closed), so nothing is charged twice.
    """
    if not can(actor, Capability.TAKE_PAYMENT):
        raise Forbidden("Only waiters and managers take payment.", code="transition_not_permitted")
    if method not in (TabPaymentMethod.CASH, TabPaymentMethod.CARD):
        raise ApplicationError("Choose cash or card.", code="invalid_payment_method")
    with transaction.atomic():
        tab = _locked_tab(tab_id)
        if not tab.is_open:
            raise Conflict(TAB_CLOSED, code="tab_closed")
        if tab.version != expected_version:
            raise Conflict(TAB_STALE, code="stale_tab")
        total = _close(tab=tab, method=method, actor=actor, expected_total=None)
    tab.refresh_from_db()
    logger.info("tab paid", extra={"tab_id": tab.pk, "amount_minor": total, "method": method})
    return tab


def tab_settle_online(*, tab_id: int, payment: Payment, actor: Actor) -> bool:
    """The provider confirmed a tab's payment: closes the tab if that is still what it owes.

    Called by the payment webhook (orders.payments.services), which holds the
    payment's row lock, in its transaction. False, and nothing changes, when
    the tab is closed already (paid at the till, or by another attempt) or its
    total is no longer the payment's amount; the caller gives that money back.
    """
    with transaction.atomic():
        tab = _locked_tab(tab_id)
        if not tab.is_open:
            return False
        if (
            _close(tab=tab, method=TabPaymentMethod.ONLINE, actor=actor, expected_total=payment.amount_minor)
            is None
        ):
            return False
    logger.info(
        "tab paid", extra={"tab_id": tab_id, "amount_minor": payment.amount_minor, "method": "online"}
    )
    return True


def _close(*, tab: Tab, method: str, actor: Actor, expected_total: int | None) -> int | None:
    """Closes a tab the caller has locked, as paid: returns the total, or None if it is not `expected_total`.

    Rounds the kitchen had not started yet become paid; every round that
    counted gets a "tab paid" audit entry with the tab, the method and the amount.
    """
    # The rounds' orders, locked in primary-key order (as the kitchen locks
    # one): a chef starting a round at this moment waits, and its status read
    # here is the one the bill is paid with.
    round_ids = list(tab.rounds.values_list("order_id", flat=True))
    orders = list(Order.objects.select_for_update().filter(pk__in=round_ids).order_by("pk"))
    counting = [order for order in orders if order.status not in FINAL_STATUSES]
    total = sum(order.total_minor for order in counting)
    if expected_total is not None and total != expected_total:
        return None
    Tab.objects.filter(pk=tab.pk).update(
        status=TabStatus.PAID,
        paid_minor=total,
        payment_method=method,
        closed_by=actor.user,
        closed_by_label=actor.label[:150],
        closed_at=timezone.now(),
        version=F("version") + 1,
    )
    label = TabPaymentMethod(method).label.lower()
    for order in counting:
        if order.status == OrderStatus.ON_TAB:
            order_transition(
                order=order, to_status=OrderStatus.PAID, actor=actor, reason=f"paid with tab {tab.number}"
            )
        OrderEvent.objects.create(
            order=order,
            kind=OrderEventKind.TAB_SETTLED,
            actor=actor.user,
            actor_label=actor.label[:150],
            reason=f"tab {tab.number} paid, {label}",
            data={"tab_id": tab.pk, "method": method, "amount_minor": total, "currency": tab.currency},
        )
    return total
