"""Gives the demo restaurant its kitchen pacing: open all day, every day. Safe to run again.

    python manage.py seed_demo_pacing

All-day hours let `make run` take orders for as soon as possible at any
hour; a real restaurant enters its own in admin. Hours a manager already
entered are left alone.
"""

from __future__ import annotations

from datetime import time
from typing import Any

from django.core.management.base import BaseCommand
from django.db import transaction

from orders.pacing.models import KitchenPacing, OpeningHours, Weekday

MIDNIGHT = time(0, 0)


class Command(BaseCommand):
    help = "Kitchen pacing for the demo restaurant: capacity per slot, and open all day every day."

    @transaction.atomic
    def handle(self, *args: Any, **options: Any) -> None:
        pacing, _ = KitchenPacing.objects.get_or_create(pk=1)
        if pacing.opening_hours.exists():
            self.stdout.write("Opening hours are set already; left as they are.")
            return
        # 00:00 to 00:00 is a whole day; consecutive days join into one opening.
        OpeningHours.objects.bulk_create(
            OpeningHours(pacing=pacing, weekday=day, opens=MIDNIGHT, closes=MIDNIGHT)
            for day in Weekday.values
        )
        self.stdout.write(self.style.SUCCESS("Demo kitchen open all day, every day."))
