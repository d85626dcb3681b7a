"""Reads about coupons: their uses (counted from the orders), a code's quote at checkout, the banner."""

from __future__ import annotations

import functools
import operator
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from orders.coupons.models import CODE_MAX_LENGTH, CODE_PATTERN, Coupon, code_normalized
from orders.models import Order
from orders.pricing import coupon_discount
from orders.state import COUPON_USE_STATUSES

# The one answer for a code that does not exist, is off, outside its window,
# used up, not for this order or not for this customer: guessing learns nothing.
COUPON_REFUSED = "That code cannot be used for this order."


def email_normalized(email: str) -> str:
    """A guest's identity for the per-customer limit: the address without case or a "+tag".

    ada+1@Example.test and ada@example.test are one customer. It is a speed
    bump, not a wall: anyone can type another address (docs/decisions.md).
    """
    local, _, domain = email.strip().lower().rpartition("@")
    if not local:
        return domain
    return f"{local.split('+', 1)[0] or local}@{domain}"


def coupon_uses(*, coupon_id: int) -> int:
    """Orders holding a use of the coupon: not cancelled, not refunded."""
    return Order.objects.filter(coupon_id=coupon_id, status__in=COUPON_USE_STATUSES).count()


def coupon_uses_by(*, coupon_id: int, customer_id: int | None, email: str) -> int:
    """Uses held by one customer: their account's orders, and any order under their normalized email.

    Both, so signing out (or in) does not make a used coupon new again.
    """
    mine = [Q(coupon_email=email_normalized(email))] if email else []
    if customer_id is not None:
        mine.append(Q(customer_id=customer_id))
    if not mine:
        return 0
    return Order.objects.filter(
        functools.reduce(operator.or_, mine), coupon_id=coupon_id, status__in=COUPON_USE_STATUSES
    ).count()


def coupon_find(*, code: str) -> Coupon | None:
    """The coupon a customer's code names, whatever its case; None for text that cannot be a code."""
    code = code_normalized(code)
    if not code or len(code) > CODE_MAX_LENGTH or not CODE_PATTERN.match(code):
        return None
    return Coupon.objects.filter(code=code).first()


def coupon_refusal(
    *, coupon: Coupon | None, subtotal_minor: int, customer_id: int | None, email: str, now: datetime
) -> bool:
    """Whether the coupon is refused for this order; the caller answers COUPON_REFUSED either way.

    Without an email (checkout before the customer typed one) the per-customer
    limit is counted for the account alone; placing the order counts both.
    """
    if coupon is None or not coupon.is_open_at(now) or subtotal_minor < coupon.minimum_subtotal_minor:
        return True
    if coupon.max_uses is not None and coupon_uses(coupon_id=coupon.pk) >= coupon.max_uses:
        return True
    return (
        coupon.max_uses_per_customer is not None
        and coupon_uses_by(coupon_id=coupon.pk, customer_id=customer_id, email=email)
        >= coupon.max_uses_per_customer
    )


@dataclass(frozen=True)
class CouponQuote:
    """A code as the checkout page shows it before the order is placed."""

    code: str
    discount_minor: int
    offer: str


def coupon_quote(
    *, code: str, subtotal_minor: int, customer_id: int | None, email: str = "", now: datetime | None = None
) -> CouponQuote | None:
    """What the code takes off this subtotal now, or None if it is refused (COUPON_REFUSED).

    Reads only: placing the order checks again under the coupon's lock
    (orders.coupons.services.coupon_claim), which is what counts.
    """
    now = now or timezone.now()
    coupon = coupon_find(code=code)
    if coupon is None or coupon_refusal(
        coupon=coupon, subtotal_minor=subtotal_minor, customer_id=customer_id, email=email, now=now
    ):
        return None
    return CouponQuote(
        code=coupon.code,
        discount_minor=coupon_discount(coupon, subtotal_minor),
        offer=coupon.offer_text(settings.BRIGADE_CURRENCY),
    )


# ---------------------------------------------------------------- the banner


@dataclass(frozen=True)
class Banner:
    code: str
    offer: str

    @property
    def token(self) -> str:
        return f"{self.code}:{self.offer}"


@dataclass(frozen=True)
class _Advertised:
    menu_version: str
    banner: Banner | None
    until: datetime


# What this process last read for the banner: per menu version, which every
# coupon save replaces (orders.coupons.signals), and until the advertised
# coupon's window next opens or closes, so the banner needs no read of its own
# on a page that already knows the version.
_advertised: _Advertised | None = None
_advertised_lock = threading.Lock()


def _advertised_read(now: datetime) -> tuple[Banner | None, datetime]:
    """The coupon in the banner now, and until when that answer holds (one query)."""
    longest = now + timedelta(seconds=settings.MENU_CACHE_SECONDS)
    coupon = Coupon.objects.filter(show_in_banner=True, is_active=True).first()
    if coupon is None:
        return None, longest
    if coupon.valid_from is not None and now < coupon.valid_from:
        return None, min(coupon.valid_from, longest)
    if coupon.valid_until is not None and now >= coupon.valid_until:
        return None, longest
    until = longest if coupon.valid_until is None else min(coupon.valid_until, longest)
    return Banner(code=coupon.code, offer=coupon.offer_text(settings.BRIGADE_CURRENCY)), until


def coupon_advertised(*, menu_version: str | None, now: datetime | None = None) -> Banner | None:
    """The coupon the site's banner shows: the same for every visitor, nothing personal.

    Whether it is used up is not asked: that changes with every order and
    would make the banner (and every kept menu page) change with it; the
    checkout answers for the code.
    """
    global _advertised
    now = now or timezone.now()
    held = _advertised
    if menu_version is None:  # the cache is unreachable: nothing to key a copy by
        return _advertised_read(now)[0]
    if held is not None and held.menu_version == menu_version and now < held.until:
        return held.banner
    banner, until = _advertised_read(now)
    with _advertised_lock:
        _advertised = _Advertised(menu_version=menu_version, banner=banner, until=until)
    return banner


def coupon_banner_token(menu_version: str | None) -> str:
    """The banner as a part of every menu page's ETag and kept page (menu.pages.page_part_register)."""
    banner = coupon_advertised(menu_version=menu_version)
    return "" if banner is None else banner.token
