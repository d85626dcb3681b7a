"""Writes of the nightly inventory: each night's report built once, the managers' email sent once.

Building a night is one transaction that begins by inserting the night's
report row. The night is unique, so a second builder (a retried task, a
second beat by mistake, the command run by hand meanwhile) waits on that
insert until the first commits, then fails on the constraint and reads the
first one's report: one report per night, whatever runs at once. What the
build changes (reservations released, coupons retired) commits or rolls back
with the report.

The email is sent after that commit, by its own task, with no row locked:
a conditional UPDATE claims it for INVENTORY_EMAIL_CLAIM_SECONDS, the mail
goes out, and the report records it sent. A worker killed mid-send leaves a
claim that expires, and the next try sends it; a copy of the task that
finds a live claim looks again once it could have expired.
"""

from __future__ import annotations

import logging
from datetime import date, datetime, timedelta
from functools import partial

from django.conf import settings
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from accounts.roles import Actor
from menu.pantry.models import Ingredient
from menu.pantry.services import stock_release
from orders.coupons.services import coupon_retire_expired
from orders.inventory import selectors
from orders.inventory.models import (
    InventoryReport,
    ReleasedOrder,
    ReleasedQuantity,
    RetiredCoupon,
    quantity_text,
    unit_text,
)
from orders.outbox.dead_letters import task_named
from restaurant.errors import ApplicationError

logger = logging.getLogger(__name__)

NIGHTLY = Actor.system("inventory")
SEND_TASK = "orders.inventory_tasks.send_inventory_report"


def _release_ended_orders() -> list[ReleasedOrder]:
    released: list[ReleasedOrder] = []
    for order_id, status in selectors.orders_ended_holding_stock():
        # The pantry's own release: locks the ingredient rows and reads the hold again under them,
        # so an order a cancel is releasing right now is released once.
        held = stock_release(order_id=order_id, actor=NIGHTLY, reason=f"nightly inventory: order {status}")
        if not held:
            continue
        names = Ingredient.objects.in_bulk(list(held))
        released.append(
            ReleasedOrder(
                order_id=order_id,
                status=status,
                ingredients=[
                    ReleasedQuantity(
                        ingredient=names[pk].name,
                        unit=unit_text(names[pk].unit),
                        quantity=quantity_text(held[pk]),
                    )
                    for pk in sorted(held, key=lambda pk: names[pk].name)
                ],
            )
        )
    return released


def _retire_coupons(until: datetime) -> list[RetiredCoupon]:
    return [
        RetiredCoupon(
            code=coupon.code,
            valid_until=coupon.valid_until.isoformat() if coupon.valid_until else "",
            offer=coupon.offer_text(settings.BRIGADE_CURRENCY),
        )
        for coupon in coupon_retire_expired(now=until)
    ]


def inventory_night_build(*, night: date, now: datetime | None = None) -> tuple[InventoryReport, bool]:
    """The report of one night, built if it was not; returns it and whether this call built it.

    Only a night that is over can be built. Every build reads the night's
    use against its recipes, what was under its reorder point at the night's
    end and 14 days of use for the chart, and retires the coupons that
    expired by the night's end; last night's also releases what cancelled
    and refunded orders still hold. The managers' email is queued after
    commit.
    """
    now = now or timezone.now()
    if night > selectors.last_complete_night(now):
        raise ApplicationError(
            f"The night of {night.isoformat()} is not over yet: a night's report is built "
            "once its day has ended (after midnight, restaurant time).",
            code="night_not_over",
            data={"night": night.isoformat()},
        )
    window = selectors.night_window(night)
    existing = InventoryReport.objects.filter(night=night).first()
    if existing is not None:
        return existing, False
    try:
        with transaction.atomic():
            # First, so a second builder of this night waits here instead of doing the work twice.
            report = InventoryReport.objects.create(night=night, built_at=now)
            # The reads first, so the rows locked below stay locked only until the commit (a
            # release moves `reserved`, which none of these figures reads).
            report.variance = selectors.night_variance(window)
            report.low_stock = selectors.low_stock_at(window.end)
            report.use_days, report.daily_use = selectors.daily_use(night)
            # Coupons before ingredients: checkout locks a coupon, then the ingredient rows
            # (order_place), and taking them the same way round means the two never wait in a circle.
            report.retired_coupons = _retire_coupons(window.end)
            # Which ended orders still hold stock is a question about now: last night's report
            # answers it, a night caught up (or rebuilt by hand) long after does not.
            if night == selectors.last_complete_night(now):
                report.released = _release_ended_orders()
            report.save()
            transaction.on_commit(partial(task_named(SEND_TASK).delay, report.pk), robust=True)
    except IntegrityError:
        # Another builder of the same night committed first: its report is the one.
        first = InventoryReport.objects.filter(night=night).first()
        if first is None:
            raise
        return first, False
    logger.info(
        "inventory report built",
        extra={
            "night": night.isoformat(),
            "low_stock": len(report.low_stock),
            "released_orders": len(report.released),
            "retired_coupons": len(report.retired_coupons),
        },
    )
    return report, True


def inventory_nightly_run(*, now: datetime | None = None) -> list[InventoryReport]:
    """What beat runs at 02:00: every night due (selectors.nights_due), oldest first; returns those built.

    Each night is its own transaction, so a night that fails leaves the
    earlier ones built, and the next run carries on from there. Reports whose
    email never went out (the queue was down when one was built) are queued again.
    """
    now = now or timezone.now()
    built = []
    for night in selectors.nights_due(now=now):
        report, created = inventory_night_build(night=night, now=now)
        if created:
            built.append(report)
    grace = now - timedelta(seconds=settings.INVENTORY_EMAIL_CLAIM_SECONDS)
    for report_id in selectors.reports_unsent(nights=settings.INVENTORY_CATCH_UP_NIGHTS, built_before=grace):
        task_named(SEND_TASK).delay(report_id)
    return built


class ReportEmailClaimed(Exception):
    """Another worker claimed sending this report and its claim has not expired: look again later."""

    def __init__(self, *, report_id: int, retry_in: float) -> None:
        super().__init__(f"inventory report {report_id}: email claimed by another worker")
        self.retry_in = retry_in


def inventory_report_email_send(*, report_id: int) -> bool:
    """Mails the night's report to the managers once, with no row locked; returns whether this call did.

    Raises ReportEmailClaimed while another worker's claim is live.
    """
    now = timezone.now()
    claim_until = now + timedelta(seconds=settings.INVENTORY_EMAIL_CLAIM_SECONDS)
    unsent = InventoryReport.objects.filter(pk=report_id, email_sent_at__isnull=True)
    free = Q(email_claimed_until__isnull=True) | Q(email_claimed_until__lt=now)
    if unsent.filter(free).update(email_claimed_until=claim_until) != 1:
        claimed = unsent.values_list("email_claimed_until", flat=True).first()
        if claimed is None:
            return False  # sent already (or no such report)
        raise ReportEmailClaimed(
            report_id=report_id, retry_in=max((claimed - now).total_seconds(), 0.0) + 1.0
        )
    ours = InventoryReport.objects.filter(pk=report_id, email_claimed_until=claim_until)
    try:
        report = InventoryReport.objects.get(pk=report_id)
        recipients = selectors.report_recipients()
        if recipients:
            send_mail(
                subject=_subject(report),
                message=render_to_string(
                    "orders/inventory/email.txt",
                    {
                        "report": report,
                        "restaurant": settings.BRIGADE_RESTAURANT_NAME,
                        "report_url": settings.BRIGADE_BASE_URL
                        + reverse("admin:orders_inventoryreport_change", args=[report.pk]),
                    },
                ),
                from_email=settings.DEFAULT_FROM_EMAIL,
                recipient_list=recipients,
            )
        else:
            logger.warning("inventory report not mailed: no manager", extra={"night": str(report.night)})
    except BaseException:
        # Not sent: the next try may claim it at once.
        ours.update(email_claimed_until=None)
        raise
    ours.update(email_sent_at=timezone.now(), email_claimed_until=None, email_recipients=recipients)
    logger.info("inventory report mailed", extra={"night": str(report.night), "recipients": len(recipients)})
    return bool(recipients)


def _subject(report: InventoryReport) -> str:
    reorder = len(report.low_stock)
    what = f"{reorder} to reorder" if reorder else "nothing to reorder"
    return f"{settings.BRIGADE_RESTAURANT_NAME}: inventory for {report.night:%a %d %b %Y}, {what}"
