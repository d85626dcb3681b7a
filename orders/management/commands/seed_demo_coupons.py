"""Gives the demo restaurant one coupon, WELCOME10, advertised in the site banner. Safe to run again.

    python manage.py seed_demo_coupons

10% off orders of €20.00 or more, once per customer, 500 uses. A coupon a
manager already put in the banner keeps its place; WELCOME10 is then made
without the banner.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand
from django.db import transaction

from orders.coupons.models import Coupon, CouponKind

DEMO_CODE = "WELCOME10"


class Command(BaseCommand):
    help = "The demo coupon WELCOME10 (10% off orders of 20.00 or more, once per customer), in the banner."

    @transaction.atomic
    def handle(self, *args: Any, **options: Any) -> None:
        if Coupon.objects.filter(code=DEMO_CODE).exists():
            self.stdout.write(f"Coupon {DEMO_CODE} exists already; left as it is.")
            return
        in_banner = not Coupon.objects.filter(show_in_banner=True).exists()
        Coupon.objects.create(
            code=DEMO_CODE,
            kind=CouponKind.PERCENT,
            value=10,
            minimum_subtotal_minor=2000,
            max_uses=500,
            max_uses_per_customer=1,
            show_in_banner=in_banner,
        )
        self.stdout.write(
            self.style.SUCCESS(f"Demo coupon {DEMO_CODE}{' in the banner' if in_banner else ''}.")
        )
