"""Gives the demo restaurant its kitchen pacing: open all day, every day. Safe to run again.

    python manage.py seed_demo_pacing [--orders-per-slot N] [--hard-cap N]

All-day hours let `make run` take orders for as soon as possible at any
hour; a real restaurant enters its own in admin. Hours a manager already
entered are left alone. The options set the capacity too: a load test whose
orders are never cooked needs a kitchen far larger than the demo's.
"""

from __future__ import annotations

from datetime import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from orders.pacing.cache import pacing_changed
from orders.pacing.models import KitchenPacing, OpeningHours, Weekday

MIDNIGHT = time(0, 0)


class Command(BaseCommand):
    help = "Kitchen pacing for the demo restaurant: capacity per slot, and open all day every day."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--orders-per-slot", type=int, help="orders the kitchen finishes per 15 minutes")
        parser.add_argument(
            "--hard-cap", type=int, help="paid orders in the kitchen from which ASAP is refused"
        )

    @transaction.atomic
    def handle(self, *args: Any, **options: Any) -> None:
        pacing, _ = KitchenPacing.objects.get_or_create(pk=1)
        for option, name in (("orders_per_slot", "orders_per_slot"), ("hard_cap", "hard_cap_orders")):
            if options.get(option) is not None:
                if not 1 <= options[option] <= 10000:
                    raise CommandError(f"--{option.replace('_', '-')} must be between 1 and 10000.")
                setattr(pacing, name, options[option])
        pacing.save()
        if pacing.opening_hours.exists():
            self.stdout.write("Opening hours are set already; left as they are.")
            return
        # 00:00 to 00:00 is a whole day; consecutive days join into one opening.
        OpeningHours.objects.bulk_create(
            OpeningHours(pacing=pacing, weekday=day, opens=MIDNIGHT, closes=MIDNIGHT)
            for day in Weekday.values
        )
        pacing_changed()  # bulk_create sends no signal (orders.pacing.signals)
        self.stdout.write(self.style.SUCCESS("Demo kitchen open all day, every day."))
