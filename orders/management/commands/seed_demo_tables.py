"""Gives the demo restaurant its tables: 1–8 on the ground floor, 9–12 upstairs. Safe to run again.

    python manage.py seed_demo_tables

A label already in service is left as it is (a manager may have moved or
resized it); a label only among retired tables is added again, since
retiring is what a manager did to the old one.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand
from django.db import transaction

from orders.floor.models import Table

DEMO_TABLES = [
    *((str(n), "Ground floor", 2 if n <= 4 else 4) for n in range(1, 9)),
    *((str(n), "Upstairs", 6 if n == 12 else 4) for n in range(9, 13)),
]


class Command(BaseCommand):
    help = "The demo tables: 12 tables on two floors (Ground floor 1–8, Upstairs 9–12)."

    @transaction.atomic
    def handle(self, *args: Any, **options: Any) -> None:
        in_service = {
            label.casefold() for label in Table.objects.in_service().values_list("label", flat=True)
        }
        made = [
            Table.objects.create(label=label, area=area, seats=seats, sort_order=position)
            for position, (label, area, seats) in enumerate(DEMO_TABLES)
            if label.casefold() not in in_service
        ]
        self.stdout.write(
            self.style.SUCCESS(
                f"Demo tables: {len(made)} added, {len(DEMO_TABLES) - len(made)} there already."
            )
        )
