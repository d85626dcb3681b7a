"""Outgoing webhooks to delivery partners: who gets which event, signed, sent, retried and resent.

Publishing an outbox event that partners may subscribe to (order.paid,
order.ready, order.cancelled) creates one PartnerDelivery per subscribed
partner, and the `deliver_partner_webhook` task POSTs it until the partner
answers 2xx, backing off between tries; after the last one it is dead-lettered
and marked failed, and a manager can resend it from admin. Every request is
signed the way docs/partner-webhooks.md tells partners to check:

    Brigade-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>

The body never carries the customer's email, phone or the order's tracking
token: a partner learns what it needs to collect and hand over an order.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta
from functools import partial
from http import HTTPStatus
from typing import Any
from urllib.parse import urlsplit

import requests
from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from requests.adapters import HTTPAdapter

from orders.models import Order
from orders.outbox.dead_letters import task_named
from orders.outbox.models import DeadLetter, OutboxEvent
from orders.outbox.services import outbox_enqueue
from orders.partners.models import (
    Partner,
    PartnerAPIKey,
    PartnerDelivery,
    PartnerDeliveryStatus,
    PartnerTopic,
    new_delivery_public_id,
    new_partner_secret,
    validate_api_scopes,
)
from orders.partners.url_checks import Destination, PartnerURLRefused, partner_url_destination
from restaurant.signing import SignatureError, signature_check, signature_header

logger = logging.getLogger(__name__)

SIGNATURE_HEADER = "Brigade-Signature"
EVENT_ID_HEADER = "Brigade-Event-Id"
USER_AGENT = "Brigade-Webhooks/1"
# How far a signature's timestamp may be from the receiver's clock (replays).
SIGNATURE_TOLERANCE_SECONDS = 300
# (connect, read) seconds: a partner that does not answer within these is tried again later.
TIMEOUT = (3.0, 10.0)
DELIVER_TASK_NAME = "orders.tasks.deliver_partner_webhook"


class PartnerDeliveryError(Exception):
    """The partner did not take the event (no answer, or not 2xx): worth another try later.

    The message names the delivery and what happened, never the URL or a header,
    because it ends up in dead letters that admin shows.
    """


# ---------------------------------------------------------------- signing


def verify(
    secret: str,
    header: str,
    body: bytes | str,
    tolerance: int = SIGNATURE_TOLERANCE_SECONDS,
    *,
    now: float | None = None,
) -> bool:
    """Whether `header` signs exactly `body` with `secret`, at a time within `tolerance` of now.

    What a partner runs on every request (restaurant/signing.py); the body must
    be the raw bytes received, before any JSON parsing.
    """
    try:
        signature_check(secret=secret, header=header, body=body, tolerance=tolerance, now=now)
    except SignatureError:
        return False
    return True


# ---------------------------------------------------------------- the event body


# What a partner hears for each of our events. In Brigade "cancelled" means
# never paid, which partners never saw; a paid order that is called off is
# "refunded", and that is the cancellation a delivery partner must hear of.
PARTNER_TOPIC_FOR_EVENT = {
    "order.paid": "order.paid",
    "order.ready": "order.ready",
    "order.refunded": "order.cancelled",
}


def _order_data(order: Order, event_topic: str) -> dict[str, Any]:
    order_status_announced = event_topic.removeprefix("order.")
    return {
        "id": order.pk,
        "number": order.number,
        # The status this event announced (the order may have moved on since).
        "status": order_status_announced,
        "order_type": order.order_type,
        "table_number": order.table_number or None,
        "items": [{"name": line.name, "quantity": line.quantity} for line in order.items.all()],
        "created_at": order.created_at.isoformat(),
    }


def _event_body(
    *, public_id: str, event: OutboxEvent, topic: str, order_data: dict[str, Any]
) -> dict[str, Any]:
    return {
        "id": public_id,
        "type": topic,
        "created": event.created_at.isoformat(),
        "data": {"order": order_data},
    }


def encode_body(payload: dict[str, Any]) -> bytes:
    """The exact bytes sent and signed; the same on every try."""
    return json.dumps(payload, separators=(",", ":"), sort_keys=True, ensure_ascii=False).encode()


# ---------------------------------------------------------------- services


def partner_deliveries_create(*, event: OutboxEvent) -> list[PartnerDelivery]:
    """One delivery per active partner subscribed to the event's topic; queues the new ones.

    Runs while the outbox publishes the event, in its transaction. The unique
    (partner, event) pair makes publishing the same event again create and
    queue nothing: each partner gets each event once.
    """
    topic = PARTNER_TOPIC_FOR_EVENT.get(event.topic)
    if topic is None or topic not in PartnerTopic.values or event.order_id is None:
        return []
    partners = [p for p in Partner.objects.filter(is_active=True).order_by("pk") if p.is_subscribed(topic)]
    order = event.order if partners else None
    if order is None:
        return []
    order_data = _order_data(order, event.topic)
    deliveries = []
    with transaction.atomic():
        for partner in partners:
            public_id = new_delivery_public_id()
            delivery, created = PartnerDelivery.objects.get_or_create(
                partner=partner,
                outbox_event=event,
                defaults={
                    "public_id": public_id,
                    "topic": topic,
                    "payload": _event_body(
                        public_id=str(public_id), event=event, topic=topic, order_data=order_data
                    ),
                    "next_attempt_at": timezone.now(),
                },
            )
            if created:
                # The event id lets the task wait for this transaction if its
                # message arrives before the commit (see partner_delivery_attempt).
                outbox_enqueue(DELIVER_TASK_NAME, delivery.pk, event.pk)
            deliveries.append(delivery)
    return deliveries


@dataclass(frozen=True)
class _Answer:
    delivered: bool
    status_code: int | None
    error: str


class _PinnedAdapter(HTTPAdapter):
    """Connects to the address that was vetted, whatever the name resolves to by now.

    The URL keeps the partner's host name, so TLS checks the certificate for
    it (and sends it as SNI); only the TCP connection goes to the vetted
    address. A DNS answer that changes between the check and the connection
    (rebinding) cannot send the request inside.
    """

    def __init__(self, destination: Destination) -> None:
        self._destination = destination
        super().__init__(max_retries=0)

    def build_connection_pool_key_attributes(
        self, request: Any, verify: Any, cert: Any = None
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        host_params, pool_kwargs = super().build_connection_pool_key_attributes(request, verify, cert)
        host_params = {**host_params, "host": self._destination.address}
        if host_params.get("scheme") == "https":
            name = self._destination.host
            pool_kwargs = {**pool_kwargs, "server_hostname": name, "assert_hostname": name}
        return host_params, pool_kwargs


def _post(delivery: PartnerDelivery, body: bytes, destination: Destination) -> _Answer:
    partner = delivery.partner
    timestamp = int(time.time())
    headers = {
        "Content-Type": "application/json",
        # The partner's name, not the address connected to.
        "Host": urlsplit(partner.url).netloc.rsplit("@", 1)[-1],
        SIGNATURE_HEADER: signature_header(partner.secret, timestamp, body),
        EVENT_ID_HEADER: str(delivery.public_id),
        "User-Agent": USER_AGENT,
    }
    try:
        # No redirects: a partner moves its endpoint by telling us, never by
        # bouncing a signed request elsewhere (or inside). No proxies from the
        # environment: they would connect to the name, not the vetted address.
        # stream=True: the answer's body is never read, so a huge one costs nothing.
        with requests.Session() as session:
            session.trust_env = False
            adapter = _PinnedAdapter(destination)
            session.mount("http://", adapter)
            session.mount("https://", adapter)
            with session.post(
                partner.url, data=body, headers=headers, timeout=TIMEOUT, allow_redirects=False, stream=True
            ) as response:
                code = response.status_code
    except requests.RequestException as exc:
        # The class only ("ConnectTimeout"): the message would repeat the URL.
        return _Answer(delivered=False, status_code=None, error=type(exc).__name__)
    if 200 <= code < 300:
        return _Answer(delivered=True, status_code=code, error="")
    try:
        phrase = HTTPStatus(code).phrase
    except ValueError:
        phrase = ""
    return _Answer(delivered=False, status_code=code, error=f"HTTP {code} {phrase}".strip())


def _wait_for_publisher(*, delivery_id: int, outbox_event_id: int) -> None:
    """Waits until the transaction that created the delivery has ended, if it has not yet.

    The outbox sends the task's message before its transaction commits (so a
    crash publishes the event again rather than never), and a fast worker can
    look for the delivery before it exists. The publisher holds the event's
    row lock until it commits or rolls back: taking that lock waits for it.
    """
    if PartnerDelivery.objects.filter(pk=delivery_id).exists():
        return
    with transaction.atomic():
        list(OutboxEvent.objects.select_for_update().filter(pk=outbox_event_id).values_list("pk", flat=True))


class PartnerDeliveryClaimed(Exception):
    """Another worker claimed this delivery and its claim has not expired: look again later."""

    def __init__(self, *, delivery_id: int, retry_in: float) -> None:
        super().__init__(f"partner delivery {delivery_id}: claimed by another worker")
        self.retry_in = retry_in


def _claim(delivery_id: int) -> PartnerDelivery | None:
    """Claims the delivery until PARTNER_WEBHOOK_CLAIM_SECONDS from now; None if there is nothing to send.

    A conditional UPDATE, so no row stays locked while the partner answers;
    a claim its worker did not live to finish expires.
    """
    now = timezone.now()
    claim_until = now + timedelta(seconds=settings.PARTNER_WEBHOOK_CLAIM_SECONDS)
    undelivered = PartnerDelivery.objects.filter(pk=delivery_id).exclude(
        status=PartnerDeliveryStatus.DELIVERED
    )
    free = Q(claimed_until__isnull=True) | Q(claimed_until__lt=now)
    if undelivered.filter(free).update(claimed_until=claim_until) == 1:
        return PartnerDelivery.objects.select_related("partner").get(pk=delivery_id)
    claimed = undelivered.values_list("claimed_until", flat=True).first()
    if claimed is None:
        if not PartnerDelivery.objects.filter(pk=delivery_id).exists():
            # Its publisher rolled back; the sweep publishes the event again with a new delivery.
            logger.warning("partner delivery not found", extra={"delivery_id": delivery_id})
        return None
    raise PartnerDeliveryClaimed(
        delivery_id=delivery_id, retry_in=max((claimed - now).total_seconds(), 0.0) + 1.0
    )


def partner_delivery_attempt(
    *, delivery_id: int, outbox_event_id: int | None = None, retry_in: float | None = None
) -> bool:
    """Sends the delivery once, unless it was delivered already. True if this call delivered it.

    The delivery is claimed first (a second copy of the task, a redelivered
    message, raises PartnerDeliveryClaimed and looks again later), the request
    is made outside any transaction, and then each try is recorded (attempts,
    status code, error, when the next try is due: `retry_in` seconds, from the
    task); a failed try then raises PartnerDeliveryError for the task to
    retry. A URL that may not be sent to (orders/partners/url_checks.py) fails
    the delivery at once, without a request.
    """
    if outbox_event_id is not None:
        _wait_for_publisher(delivery_id=delivery_id, outbox_event_id=outbox_event_id)
    delivery = _claim(delivery_id)
    if delivery is None:
        return False
    try:
        if not delivery.partner.is_active:
            delivery.status = PartnerDeliveryStatus.FAILED
            delivery.last_error = "partner deactivated"
            delivery.next_attempt_at = None
            delivery.claimed_until = None
            delivery.save(update_fields=["status", "last_error", "next_attempt_at", "claimed_until"])
            return False
        try:
            # Checked on every try, after resolving the name: the URL may have
            # been saved before these rules, or its name may now point inside.
            destination = partner_url_destination(delivery.partner.url)
        except PartnerURLRefused:
            return _refuse(delivery)
        except OSError:
            answer = _Answer(delivered=False, status_code=None, error="partner host name not found")
        else:
            answer = _post(delivery, encode_body(delivery.payload), destination)
    except BaseException:
        # Nothing recorded: the next try may claim it at once.
        PartnerDelivery.objects.filter(pk=delivery_id).update(claimed_until=None)
        raise
    now = timezone.now()
    delivery.attempts += 1
    delivery.last_status_code = answer.status_code
    delivery.last_error = answer.error
    delivery.claimed_until = None
    if answer.delivered:
        delivery.status = PartnerDeliveryStatus.DELIVERED
        delivery.delivered_at = now
        delivery.next_attempt_at = None
    else:
        # Pending again even if it was failed: a dead letter retried from admin brings it back.
        delivery.status = PartnerDeliveryStatus.PENDING
        delivery.next_attempt_at = None if retry_in is None else now + timedelta(seconds=retry_in)
    delivery.save(
        update_fields=[
            "attempts",
            "last_status_code",
            "last_error",
            "status",
            "delivered_at",
            "next_attempt_at",
            "claimed_until",
        ]
    )
    log = {"delivery_id": delivery_id, "partner_id": delivery.partner_id, "attempts": delivery.attempts}
    if not answer.delivered:
        logger.warning("partner webhook not delivered", extra={**log, "status_code": answer.status_code})
        raise PartnerDeliveryError(f"partner delivery {delivery_id}: {answer.error}")
    logger.info("partner webhook delivered", extra=log)
    return True


REFUSED_ERROR = "refused: the partner URL is not on the public internet (not sent)"


def _refuse(delivery: PartnerDelivery) -> bool:
    """Fails a delivery whose URL may not be sent to, for good: trying again would not change that.

    Nothing was sent, so the log says so in our words and carries no socket
    error or status code that would tell what is listening inside. Once the
    URL is fixed, a manager resends it from admin.
    """
    delivery.attempts += 1
    delivery.status = PartnerDeliveryStatus.FAILED
    delivery.last_status_code = None
    delivery.last_error = REFUSED_ERROR
    delivery.next_attempt_at = None
    delivery.claimed_until = None
    delivery.save(
        update_fields=[
            "attempts",
            "status",
            "last_status_code",
            "last_error",
            "next_attempt_at",
            "claimed_until",
        ]
    )
    logger.warning(
        "partner webhook refused: internal address",
        extra={"delivery_id": delivery.pk, "partner_id": delivery.partner_id},
    )
    return False


def partner_delivery_mark_dead(*, delivery_id: int, error: BaseException | None = None) -> bool:
    """Marks a delivery failed after its last try; a delivered one stays delivered. True if marked."""
    changes: dict[str, Any] = {"status": PartnerDeliveryStatus.FAILED, "next_attempt_at": None}
    if error is not None and not isinstance(error, PartnerDeliveryError):
        # Not the partner's answer (that is recorded already) but our own failure: its class only.
        changes["last_error"] = type(error).__name__[:200]
    updated = (
        PartnerDelivery.objects.filter(pk=delivery_id)
        .exclude(status=PartnerDeliveryStatus.DELIVERED)
        .update(**changes)
    )
    if updated:
        logger.error("partner webhook dead-lettered", extra={"delivery_id": delivery_id})
    return bool(updated)


def partner_delivery_resend(*, delivery_ids: Iterable[int]) -> int:
    """Sends failed deliveries again, with a fresh round of tries; returns how many.

    Only failed ones: a delivered event is never sent twice, and a pending one
    is still being tried.
    """
    deliver = task_named(DELIVER_TASK_NAME)
    now = timezone.now()
    with transaction.atomic():
        ids = list(
            PartnerDelivery.objects.select_for_update()
            .filter(pk__in=list(delivery_ids), status=PartnerDeliveryStatus.FAILED)
            .order_by("pk")
            .values_list("pk", flat=True)
        )
        if not ids:
            return 0
        PartnerDelivery.objects.filter(pk__in=ids).update(
            status=PartnerDeliveryStatus.PENDING, next_attempt_at=now
        )
        # Their dead letters are settled by this resend: retrying one as well
        # would run a second round of tries beside this one.
        DeadLetter.objects.filter(
            task_name=DELIVER_TASK_NAME, args__0__in=ids, retried_at__isnull=True
        ).update(retried_at=now)
        for pk in ids:
            transaction.on_commit(partial(deliver.delay, pk))
    logger.info("partner webhooks resent", extra={"delivery_ids": ids})
    return len(ids)


def partner_secret_rotate(*, partner: Partner) -> str:
    """Gives the partner a new secret and returns it; every request from now on is signed with it."""
    secret = new_partner_secret()
    Partner.objects.filter(pk=partner.pk).update(secret=secret)
    partner.secret = secret
    logger.info("partner secret rotated", extra={"partner_id": partner.pk})
    return secret


# ------------------------------------------------------------------ API keys

# A key's last use is recorded to the minute: a write on every request would
# cost a busy partner one UPDATE per call for no more than that.
KEY_TOUCH_SECONDS = 60


def partner_key_touch(*, key: PartnerAPIKey) -> None:
    """Records that the key was used now (at most once a minute per key)."""
    now = timezone.now()
    stale = Q(last_used_at__isnull=True) | Q(last_used_at__lt=now - timedelta(seconds=KEY_TOUCH_SECONDS))
    with transaction.atomic():
        PartnerAPIKey.objects.filter(stale, pk=key.pk).update(last_used_at=now)


def partner_key_create(
    *, partner: Partner, name: str, scopes: list[str], expiry_date: Any = None
) -> tuple[PartnerAPIKey, str]:
    """A new API key for the partner; returns it with the raw key, which is never stored nor shown again."""
    validate_api_scopes(scopes)
    with transaction.atomic():
        key, raw = PartnerAPIKey.objects.create_key(
            partner=partner, name=name, scopes=sorted(set(scopes)), expiry_date=expiry_date
        )
    logger.info("partner API key created", extra={"partner_id": partner.pk, "prefix": key.prefix})
    return key, raw  # type: ignore[return-value]  # create_key is typed for the abstract model


def partner_key_revoke(*, key: PartnerAPIKey) -> None:
    """Revokes the key for good: its next request is refused."""
    with transaction.atomic():
        PartnerAPIKey.objects.filter(pk=key.pk).update(revoked=True)
    logger.info("partner API key revoked", extra={"partner_id": key.partner_id, "prefix": key.prefix})
