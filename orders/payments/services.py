"""Every write about money: starting a payment, the provider's events, refunds, expiry."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

import pybreaker
import redis
from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone

from accounts.permissions import Capability, can
from accounts.roles import Actor
from menu.money import format_money
from orders.events import REFUND_SUCCEEDED_TOPIC
from orders.models import (
    Order,
    OrderEvent,
    OrderEventKind,
    OrderStatus,
    Payment,
    PaymentStatus,
    PaymentWebhookEvent,
    Refund,
    RefundStatus,
)
from orders.outbox.dead_letters import task_named
from orders.outbox.services import outbox_record
from orders.payments import get_provider
from orders.payments.base import (
    PAYMENT_SUCCEEDED,
    Charge,
    ChargeLine,
    CheckoutSession,
    ProviderError,
    ProviderEvent,
    ProviderRefused,
    charge_for_order,
)
from orders.selectors import order_refundable_payment
from orders.services import order_cancel, order_transition
from orders.state import MONEY_TAKEN_STATUSES, PAYMENT_PAID_STATUSES
from restaurant.errors import ApplicationError, Conflict, Forbidden, NotFound

logger = logging.getLogger(__name__)

DELIVER_REFUND_TASK_NAME = "orders.payment_tasks.deliver_refund"

PAYMENTS = Actor.system("payments")


class PaymentsUnavailable(ApplicationError):
    status = 503
    default_code = "payments_unavailable"


# ------------------------------------------------------------------ circuit breaker

_breaker: pybreaker.CircuitBreaker | None = None


class _BreakerRedisStorage(pybreaker.CircuitRedisStorage):
    """pybreaker's Redis storage, which falls back to a closed circuit when Redis is away.

    pybreaker catches Redis errors everywhere but where it writes the initial
    state (when built, and again when a restarted Redis has forgotten it):
    there a Redis outage would fail every checkout. A closed circuit lets
    payments be tried, as with the storage's own fallback.
    """

    def _initialize_redis_state(self, state: str) -> None:
        try:
            super()._initialize_redis_state(state)
        except redis.RedisError:
            logger.warning("payment breaker state not written: Redis unavailable")


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
            storage = _BreakerRedisStorage(
                pybreaker.STATE_CLOSED,
                redis.Redis.from_url(settings.REDIS_URL, socket_timeout=2, socket_connect_timeout=2),
                namespace="brigade:payments",
            )
        _breaker = pybreaker.CircuitBreaker(
            fail_max=settings.PAYMENT_BREAKER_FAIL_MAX,
            reset_timeout=settings.PAYMENT_BREAKER_RESET_SECONDS,
            state_storage=storage,
            # A refusal is an answer: the provider is up.
            exclude=[ProviderRefused],
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


def payment_start(*, order: Order, return_url: str, new_order: bool = False) -> CheckoutSession:
    """Opens a checkout at the provider for what the order still owes.

    The Payment row is written only once the provider has answered, so a
    failing or open-circuit provider leaves nothing half-created.
    `new_order`: the caller made the order in this request, so this is its
    first attempt and there are no payments to count.
    """
    if order.status != OrderStatus.AWAITING_PAYMENT:
        raise Conflict("This order is not waiting for payment.", code="not_awaiting_payment")
    provider = get_provider()
    attempt = 1 if new_order else order.payments.count() + 1
    session: CheckoutSession = _call_provider(
        provider.create_checkout,
        charge=charge_for_order(order),
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


def tab_payment_start(
    *, tab_id: int, expected_version: int, actor: Actor, return_url: str
) -> CheckoutSession:
    """Opens a checkout at the provider for a table's whole bill, as the bill showed it.

    The amount is the tab's own total (never the request's), at the version
    the waiter saw; the provider is asked outside any transaction and the
    Payment row written only once it answered. The tab stays open until the
    provider's event confirms the money (_tab_payment_succeeded); a table that
    pays at the till meanwhile gets this payment back if it still completes.
    """
    from orders.tabs.selectors import tab_bill

    if not can(actor, Capability.TAKE_PAYMENT):
        raise Forbidden("Only waiters and managers take payment.", code="transition_not_permitted")
    bill = tab_bill(tab_id=tab_id)
    if bill is None:
        raise NotFound("There is no such tab.", code="tab_not_found")
    if not bill.is_open:
        raise Conflict("This tab is paid and closed: it takes no more changes.", code="tab_closed")
    if bill.version != expected_version:
        raise Conflict(
            "Someone changed this tab just now. The bill is up to date now: check it and try again.",
            code="stale_tab",
        )
    if bill.total_minor == 0:
        raise ApplicationError(
            "Nothing on this tab is to be paid: close it at the till.", code="tab_nothing_to_pay"
        )
    counting = [r for r in bill.rounds if r.counts]
    if any(r.discounted for r in counting):
        lines: tuple[ChargeLine, ...] = (
            ChargeLine(f"Table {bill.table_label}, tab {bill.number}", 1, bill.total_minor),
        )
    else:
        lines = tuple(
            ChargeLine(f"{line.name} (round {r.number})", line.quantity, line.unit_price_minor)
            for r in counting
            for line in r.lines
        )
    charge = Charge(
        reference=f"tab-{bill.tab_id}",
        metadata={"tab_id": str(bill.tab_id)},
        email="",
        currency=bill.currency,
        amount_minor=bill.total_minor,
        lines=lines,
    )
    provider = get_provider()
    attempt = Payment.objects.filter(tab_id=bill.tab_id).count() + 1
    session: CheckoutSession = _call_provider(
        provider.create_checkout,
        charge=charge,
        payment_key=f"tab-{bill.tab_id}-v{bill.version}-attempt-{attempt}",
        return_url=return_url,
    )
    Payment.objects.create(
        tab_id=bill.tab_id,
        provider=provider.name,
        provider_ref=session.provider_ref,
        amount_minor=bill.total_minor,
        currency=bill.currency,
    )
    logger.info("tab payment started", extra={"tab_id": bill.tab_id, "provider": provider.name})
    return session


def payment_webhook_handle(*, provider_name: str, event: ProviderEvent) -> str:
    """Applies one provider event, once. Returns what happened, for the log."""
    try:
        with transaction.atomic():
            payment = (
                # Only the payment's row: its order may be none (a tab's payment), and
                # PostgreSQL locks no nullable side of an outer join.
                Payment.objects.select_for_update(of=("self",))
                .select_related("order")
                .filter(provider=provider_name, provider_ref=event.provider_ref)
                .first()
            )
            if payment is None:
                outcome = "unknown_payment"
            elif event.type == PAYMENT_SUCCEEDED:
                outcome = _payment_succeeded(payment, event)
            else:
                outcome = _payment_failed(payment)
            # Written last, with what the event did, in the same transaction: the same
            # event again (later, or at this very moment behind the payment's lock)
            # fails here and undoes whatever it did. One statement where a savepoint,
            # the row and its update were three, while the kitchen waits on this commit.
            PaymentWebhookEvent.objects.create(
                provider=provider_name,
                event_id=event.event_id,
                event_type=event.type,
                payment=payment,
                outcome=outcome,
            )
    except IntegrityError:
        if not PaymentWebhookEvent.objects.filter(provider=provider_name, event_id=event.event_id).exists():
            raise
        # The provider sent this event before (or sent it twice at once).
        return "duplicate"
    logger.info(
        "payment event handled",
        extra={"provider": provider_name, "event_type": event.type, "outcome": outcome},
    )
    return outcome


def _payment_succeeded(payment: Payment, event: ProviderEvent) -> str:
    """Records the money; the caller holds the payment's row lock."""
    if payment.status != PaymentStatus.PENDING and payment.status != PaymentStatus.FAILED:
        return "already_recorded"
    order = payment.order
    payment.received_minor = event.amount_minor
    payment.received_currency = (event.currency or "").upper()
    if (event.amount_minor, payment.received_currency) != (payment.amount_minor, payment.currency.upper()):
        return _payment_mismatched(payment)
    payment.status = PaymentStatus.SUCCEEDED
    payment.save(update_fields=["status", "received_minor", "received_currency", "updated_at"])
    if payment.tab_id is not None:
        return _tab_payment_succeeded(payment)
    assert order is not None  # a payment pays an order or a tab (payment_pays_an_order_or_a_tab)
    if order.status == OrderStatus.AWAITING_PAYMENT:
        order_transition(
            order=order, to_status=OrderStatus.PAID, actor=PAYMENTS, reason=f"paid via {payment.provider}"
        )
        return "order_paid"
    # Money arrived for an order that expired, was cancelled or was already
    # paid by another attempt: give it back without anyone having to notice.
    if payment.refundable_minor == 0:
        return "nothing_to_refund"  # nothing was taken (a free order)
    _refund_owed(
        payment=payment,
        amount_minor=payment.refundable_minor,
        reason="the order was called off or closed before this payment counted",
        idempotency_key=f"late-{payment.pk}",
    )
    return "refund_scheduled"


def _tab_payment_succeeded(payment: Payment) -> str:
    """The provider took a tab's bill: the tab is paid and closes, unless it no longer owes this.

    Paid at the till meanwhile, paid by another attempt, or its total changed
    since the checkout was opened (a round added or taken off): the money goes
    back by itself and the tab stays as it is, so a bill is never charged twice
    nor closed for another amount than it shows.
    """
    from orders.tabs.services import tab_settle_online

    assert payment.tab_id is not None
    if tab_settle_online(tab_id=payment.tab_id, payment=payment, actor=PAYMENTS):
        return "tab_paid"
    _refund_owed(
        payment=payment,
        amount_minor=payment.refundable_minor,
        reason="the tab was paid otherwise, or its total changed, before this payment counted",
        idempotency_key=f"late-{payment.pk}",
    )
    return "refund_scheduled"


def _payment_mismatched(payment: Payment) -> str:
    """The provider took another amount or currency than we asked: never a paid order.

    The order stays waiting (the customer may pay again, or it expires), the
    managers hear of it at once (an ERROR line, and the payment is filed as
    "amount mismatch" in admin), and whatever did arrive goes back.
    """
    payment.status = PaymentStatus.MISMATCHED
    if payment.received_minor is None:
        payment.received_minor = 0  # the provider did not say: nothing known to give back
    payment.save(update_fields=["status", "received_minor", "received_currency", "updated_at"])
    logger.error(
        "payment amount mismatch",
        extra={
            "order_id": payment.order_id,
            "payment_id": payment.pk,
            "provider": payment.provider,
            "expected_minor": payment.amount_minor,
            "expected_currency": payment.currency,
            "received_minor": payment.received_minor,
            "received_currency": payment.received_currency,
        },
    )
    if payment.refundable_minor > 0:
        _refund_owed(
            payment=payment,
            amount_minor=payment.refundable_minor,
            reason=(
                f"the provider took {payment.received_minor} minor units of "
                f"{payment.received_currency or '?'} for an order of "
                f"{format_money(payment.amount_minor, payment.currency)}"
            ),
            idempotency_key=f"mismatch-{payment.pk}",
        )
    return "amount_mismatch"


def _payment_failed(payment: Payment) -> str:
    if payment.status != PaymentStatus.PENDING:
        return "ignored"
    payment.status = PaymentStatus.FAILED
    payment.save(update_fields=["status", "updated_at"])
    # The order keeps waiting: the customer can try again until it expires.
    return "payment_failed"


# ------------------------------------------------------------------ refunds
#
# A refund is owed before it is paid. It is reserved first, under the
# payment's row lock and in the transaction of whatever made it owed (a
# manager's form, a customer's cancel, money arriving late or wrong): a
# pending Refund row with its own idempotency key, and its amount held in
# Payment.refund_reserved_minor so no other refund can take it. The provider
# is asked after commit, outside any lock, always with that key, so a retry
# after a lost answer is the same refund to the provider. Only its answer
# books the refund as succeeded (or failed, releasing the reservation). A
# process that dies between commit and asking leaves the row pending; the
# sweep asks for it. Nothing owed can be forgotten, nothing paid twice.

# How long one process holds a refund while it asks the provider: longer than
# the provider clients' own timeouts (Stripe: 3 s to connect, 15 s to answer),
# so a live call is never overtaken; a crashed holder's claim just expires.
REFUND_CLAIM_SECONDS = 60


def _refund_event(*, refund: Refund, kind: str, actor: Actor, reason: str, **data: object) -> None:
    if refund.payment.order_id is None:
        # A tab's payment: the Refund row itself (reason, actor, times) is its record.
        return
    OrderEvent.objects.create(
        order_id=refund.payment.order_id,
        kind=kind,
        actor=actor.user,
        actor_label=actor.label[:150],
        reason=reason[:500],
        data={
            "refund_id": refund.pk,
            "payment_id": refund.payment_id,
            "amount_minor": refund.amount_minor,
            "currency": refund.payment.taken_currency,
            **data,
        },
    )


def _refund_reserve(
    *, payment: Payment, amount_minor: int, actor: Actor, reason: str, idempotency_key: str
) -> tuple[Refund, bool]:
    """Reserves a refund on a payment the caller has locked. Returns it and whether it is new.

    A key seen before returns that refund: a form posted twice, or a task run
    twice, asks for one refund.
    """
    existing = Refund.objects.select_related("payment").filter(idempotency_key=idempotency_key).first()
    if existing is not None:
        if existing.payment_id != payment.pk:
            raise Conflict("This refund request belongs to another payment.", code="refund_key_reused")
        return existing, False
    if not reason.strip():
        raise ApplicationError("Say why the money goes back.", code="reason_required")
    if not 0 < amount_minor <= payment.refundable_minor:
        raise ApplicationError(
            f"Refund between {format_money(1, payment.taken_currency)} and "
            f"{format_money(payment.refundable_minor, payment.taken_currency)}.",
            code="invalid_refund_amount",
            data={"refundable_minor": payment.refundable_minor},
        )
    refund = Refund.objects.create(
        payment=payment,
        amount_minor=amount_minor,
        idempotency_key=idempotency_key,
        reason=reason[:500],
        actor_label=actor.label[:150],
    )
    payment.refund_reserved_minor += amount_minor
    payment.save(update_fields=["refund_reserved_minor", "updated_at"])
    _refund_event(
        refund=refund,
        kind=OrderEventKind.REFUND_REQUESTED,
        actor=actor,
        reason=f"refund of {format_money(amount_minor, payment.taken_currency)} requested: {reason}",
    )
    return refund, True


def _refund_owed(*, payment: Payment, amount_minor: int, reason: str, idempotency_key: str) -> Refund:
    """Reserves an automatic refund in the caller's transaction; a task asks the provider after commit."""
    refund, _ = _refund_reserve(
        payment=payment,
        amount_minor=amount_minor,
        actor=PAYMENTS,
        reason=reason,
        idempotency_key=idempotency_key,
    )
    transaction.on_commit(lambda: _enqueue_refund_delivery(refund.pk))
    return refund


def _enqueue_refund_delivery(refund_id: int) -> None:
    try:
        task_named(DELIVER_REFUND_TASK_NAME).delay(refund_id)
    except Exception:  # noqa: BLE001 - the refund is recorded as pending; the sweep delivers it
        logger.warning(
            "refund could not be enqueued; the sweep will deliver it", extra={"refund_id": refund_id}
        )


def payment_refund(
    *, payment_id: int, amount_minor: int, actor: Actor, reason: str, idempotency_key: str
) -> tuple[Refund, bool]:
    """A person gives money back: reserved and committed, then asked of the provider at once.

    Returns the refund as it stands, and False if the key had made it before
    (nothing new was asked). It is succeeded, succeeded, failed (the provider said no;
    nothing was booked), or pending (the provider's answer did not come: a
    task asks again with the same key, the sweep after it). A full refund of
    a paid order moves the order to "refunded" with the reservation, so the
    kitchen stops at once. Called outside any transaction: the reservation
    must be committed before the provider hears of it.
    """
    with transaction.atomic():
        payment = Payment.objects.select_for_update(of=("self",)).select_related("order").get(pk=payment_id)
        refund, created = _refund_reserve(
            payment=payment,
            amount_minor=amount_minor,
            actor=actor,
            reason=reason,
            idempotency_key=idempotency_key,
        )
        order = payment.order
        if (
            created
            and order is not None
            and payment.refundable_minor == 0
            and payment.status != PaymentStatus.MISMATCHED
            and order.status in MONEY_TAKEN_STATUSES
        ):
            note = f"refund of {format_money(payment.taken_minor, payment.taken_currency)}: {reason}"
            order_transition(order=order, to_status=OrderStatus.REFUNDED, actor=actor, reason=note)
    if not created:
        return refund, False
    try:
        return refund_deliver(refund_id=refund.pk), True
    except PaymentsUnavailable:
        _enqueue_refund_delivery(refund.pk)
        return Refund.objects.select_related("payment").get(pk=refund.pk), True


def order_cancel_paid(
    *, order: Order, actor: Actor, reason: str = "", expected_version: int | None = None
) -> Order:
    """A customer calls off their paid order before the kitchen starts it.

    The order moves to "refunded" first: of this and a chef starting it at the
    same moment exactly one wins, so money never goes back for food being
    cooked. The refund is reserved in that same transaction, so the money is
    owed the moment the order says so; a task asks the provider after commit
    (and the sweep, if the process died first).
    """
    reason = reason.strip() or "cancelled by the customer before preparation"
    paying = order_refundable_payment(order=order)
    if paying is None or paying.status not in PAYMENT_PAID_STATUSES:
        raise ApplicationError(
            "This order was not paid online; ask a member of staff.", code="no_online_payment"
        )
    with transaction.atomic():
        order = order_transition(
            order=order,
            to_status=OrderStatus.REFUNDED,
            actor=actor,
            reason=reason,
            expected_version=expected_version,
        )
        payment = Payment.objects.select_for_update().get(pk=paying.pk)
        if payment.refundable_minor > 0:
            _refund_owed(
                payment=payment,
                amount_minor=payment.refundable_minor,
                reason=reason,
                idempotency_key=f"cancel-{order.pk}-{payment.pk}",
            )
    return order


def payment_refund_late(*, payment_id: int) -> Refund | None:
    """Refunds in full a payment that arrived after its order closed.

    For tasks queued before refunds were reserved with the change.
    Idempotent: its key is the payment's, and a payment with nothing left
    refundable is left alone.
    """
    with transaction.atomic():
        payment = Payment.objects.select_for_update().get(pk=payment_id)
        if payment.refundable_minor == 0:
            return None
        refund = _refund_owed(
            payment=payment,
            amount_minor=payment.refundable_minor,
            reason="the order was called off or closed before this payment counted",
            idempotency_key=f"late-{payment.pk}",
        )
    return refund


def refund_deliver(*, refund_id: int) -> Refund:
    """Asks the provider for one pending refund, and books its answer. Safe to call any number of times.

    The claim is a conditional UPDATE: of a task, a sweep and a person's
    request acting on the same refund, one asks the provider while the others
    return. The provider is called outside any transaction, with the
    refund's own idempotency key, so a retry after a lost answer (a timeout,
    a crash) is paid once. Raises PaymentsUnavailable when the outcome is
    unknown: the refund stays pending for the next try.
    """
    now = timezone.now()
    claimed = (
        Refund.objects.filter(pk=refund_id, status=RefundStatus.PENDING)
        .filter(Q(claimed_until__isnull=True) | Q(claimed_until__lt=now))
        .update(claimed_until=now + timedelta(seconds=REFUND_CLAIM_SECONDS), attempts=F("attempts") + 1)
    )
    refund = Refund.objects.select_related("payment").get(pk=refund_id)
    if claimed != 1:
        return refund  # done already, or someone is asking the provider right now
    provider = get_provider(refund.payment.provider)
    try:
        provider_ref = _call_provider(
            provider.refund,
            payment=refund.payment,
            amount_minor=refund.amount_minor,
            idempotency_key=refund.idempotency_key,
        )
    except ProviderRefused as error:
        return _refund_failed(refund_id=refund_id, error=error)
    except BaseException as error:
        # The outcome is unknown: the reservation and the key stay for the next try.
        Refund.objects.filter(pk=refund_id, status=RefundStatus.PENDING).update(
            claimed_until=None, last_error=f"{type(error).__name__}: {error}"[:200]
        )
        raise
    return _refund_succeeded(refund_id=refund_id, provider_ref=provider_ref)


def _locked_refund(refund_id: int) -> tuple[Refund, Payment]:
    # The payment first, then the refund: the order every refund write locks in.
    payment_id = Refund.objects.values_list("payment_id", flat=True).get(pk=refund_id)
    payment = Payment.objects.select_for_update().get(pk=payment_id)
    refund = Refund.objects.select_for_update().get(pk=refund_id)
    refund.payment = payment
    return refund, payment


def _refund_succeeded(*, refund_id: int, provider_ref: str) -> Refund:
    with transaction.atomic():
        refund, payment = _locked_refund(refund_id)
        if refund.status != RefundStatus.PENDING:
            return refund  # another process booked the provider's answer first
        refund.status = RefundStatus.SUCCEEDED
        refund.provider_ref = provider_ref
        refund.completed_at = timezone.now()
        refund.claimed_until = None
        refund.last_error = ""
        refund.save(update_fields=["status", "provider_ref", "completed_at", "claimed_until", "last_error"])
        payment.refund_reserved_minor -= refund.amount_minor
        payment.refunded_minor += refund.amount_minor
        if payment.status != PaymentStatus.MISMATCHED:
            fully = payment.refunded_minor == payment.taken_minor
            payment.status = PaymentStatus.REFUNDED if fully else PaymentStatus.PARTIALLY_REFUNDED
        payment.save(update_fields=["refund_reserved_minor", "refunded_minor", "status", "updated_at"])
        _refund_event(
            refund=refund,
            kind=OrderEventKind.REFUND_SUCCEEDED,
            actor=PAYMENTS,
            reason=f"refund of {format_money(refund.amount_minor, payment.taken_currency)}: {refund.reason}",
            provider_ref=provider_ref,
            requested_by=refund.actor_label,
        )
        outbox_record(order=payment.order, topic=REFUND_SUCCEEDED_TOPIC, payload={"refund_id": refund.pk})
    logger.info(
        "payment refunded",
        extra={"payment_id": payment.pk, "refund_id": refund.pk, "amount_minor": refund.amount_minor},
    )
    return refund


def _refund_failed(*, refund_id: int, error: Exception) -> Refund:
    with transaction.atomic():
        refund, payment = _locked_refund(refund_id)
        if refund.status != RefundStatus.PENDING:
            return refund
        refund.status = RefundStatus.FAILED
        refund.completed_at = timezone.now()
        refund.claimed_until = None
        refund.last_error = str(error)[:200]
        refund.save(update_fields=["status", "completed_at", "claimed_until", "last_error"])
        payment.refund_reserved_minor -= refund.amount_minor
        payment.save(update_fields=["refund_reserved_minor", "updated_at"])
        _refund_event(
            refund=refund,
            kind=OrderEventKind.REFUND_FAILED,
            actor=PAYMENTS,
            reason=f"the provider refused a refund of "
            f"{format_money(refund.amount_minor, payment.taken_currency)}: {error}",
        )
    # A person must look: money is owed and the provider will not send it.
    logger.error(
        "refund refused by the provider",
        extra={"order_id": payment.order_id, "refund_id": refund.pk, "amount_minor": refund.amount_minor},
    )
    return refund


def refunds_sweep(*, older_than_seconds: int = 30, batch_size: int = 100) -> int:
    """Asks the provider for refunds still pending (their process died, their task ran out of tries).

    Younger refunds are left to the request or task that made them. Returns
    how many the provider answered.
    """
    cutoff = timezone.now() - timedelta(seconds=older_than_seconds)
    pending = list(
        Refund.objects.filter(status=RefundStatus.PENDING, created_at__lte=cutoff)
        .filter(Q(claimed_until__isnull=True) | Q(claimed_until__lt=timezone.now()))
        .order_by("created_at", "id")
        .values_list("pk", flat=True)[:batch_size]
    )
    answered = 0
    for refund_id in pending:
        try:
            refund = refund_deliver(refund_id=refund_id)
        except Exception:  # noqa: BLE001 - one refund's outage must not stop the others; the next sweep retries
            logger.warning("refund still pending after the sweep", extra={"refund_id": refund_id})
            continue
        answered += refund.status != RefundStatus.PENDING
    return answered


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
