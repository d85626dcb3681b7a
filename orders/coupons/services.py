"""Every write about coupons: a use claimed in the placing order's transaction, retiring expired ones."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from django.db import transaction

from menu.cache import menu_changed
from orders.coupons.models import Coupon, code_normalized
from orders.coupons.selectors import COUPON_REFUSED, coupon_refusal, email_normalized
from orders.pricing import coupon_discount
from restaurant.errors import ApplicationError

logger = logging.getLogger(__name__)


class CouponRefused(ApplicationError):
    """The one refusal for every reason a code does not apply (selectors.COUPON_REFUSED)."""

    status = 400
    default_code = "coupon_refused"


@dataclass(frozen=True)
class CouponUse:
    """A coupon applied to an order about to be created in the same transaction."""

    coupon: Coupon
    discount_minor: int
    email: str

    def order_fields(self) -> dict[str, object]:
        """What the new Order row records of it: the use itself, and its snapshot."""
        return {
            "coupon": self.coupon,
            "coupon_code": self.coupon.code,
            "coupon_email": self.email,
            "discount_minor": self.discount_minor,
        }


def coupon_claim(
    *, code: str, subtotal_minor: int, customer_id: int | None, contact_email: str, now: datetime
) -> CouponUse:
    """Checks every rule of the code for this order under the coupon's row lock.

    Call it inside the transaction that creates the order, and create the
    order with `CouponUse.order_fields()` before that transaction ends. The
    lock is held until commit, so the next checkout with the same coupon
    counts its uses only once this order is visible: of 100 simultaneous
    checkouts for a 10-use coupon exactly 10 get it. Taken last in the
    placing transaction (after the kitchen slot), so every checkout locks in
    the same order and the busiest lock is held the shortest.

    Raises CouponRefused (COUPON_REFUSED) for every reason alike.
    """
    with transaction.atomic():
        coupon = Coupon.objects.select_for_update().filter(code=code_normalized(code)).first()
        if coupon is None or coupon_refusal(
            coupon=coupon,
            subtotal_minor=subtotal_minor,
            customer_id=customer_id,
            email=contact_email,
            now=now,
        ):
            raise CouponRefused(COUPON_REFUSED)
        return CouponUse(
            coupon=coupon,
            discount_minor=coupon_discount(coupon, subtotal_minor),
            email=email_normalized(contact_email),
        )


def coupon_retire_expired(*, now: datetime) -> list[Coupon]:
    """Switches off every coupon that is on and past its valid-until; returns them, for the nightly report.

    The rows are locked in primary-key order first, so a checkout claiming
    one of them waits or is answered by the coupon as switched off, and a
    second run (or two at once) retires nothing more. The menu version is
    bumped after commit, as the banner may have shown one of them.
    """
    with transaction.atomic():
        retired = list(
            Coupon.objects.select_for_update().filter(is_active=True, valid_until__lte=now).order_by("pk")
        )
        if retired:
            Coupon.objects.filter(pk__in=[coupon.pk for coupon in retired]).update(
                is_active=False, retired_at=now, updated_at=now
            )
            menu_changed()  # update() sends no signal (orders.coupons.signals)
    for coupon in retired:
        coupon.is_active, coupon.retired_at, coupon.updated_at = False, now, now
    if retired:
        logger.info("coupons retired", extra={"coupons": [coupon.code for coupon in retired]})
    return sorted(retired, key=lambda coupon: coupon.code)
