"""Routes the demo menu (menu's seed_demo) to the kitchen's stations. Safe to run again.

    python manage.py seed_demo_stations

Makes sure the usual stations exist (a fresh database has them from
migration 0002; this also restores them where they were deleted), then routes
items by their category; an item of a category not listed here is cooked at
the default station.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand
from django.db import transaction

from kitchen.models import ItemRoute, Station
from menu.models import MenuItem

# slug, name, amber after, red after (minutes). Migration 0002 holds its own frozen copy.
DEMO_STATIONS = [
    ("grill", "Grill", 10, 18),
    ("fry", "Fry", 6, 12),
    ("cold", "Cold", 6, 12),
    ("pastry", "Pastry", 8, 15),
    ("bar", "Bar", 3, 6),
]

# demo category slug -> station slug
DEMO_ROUTES = {
    "starters": "fry",
    "salads": "cold",
    "burgers-grills": "grill",
    "pizzas": "grill",
    "mains": "grill",
    "sides": "fry",
    "desserts": "pastry",
    "drinks": "bar",
}


class Command(BaseCommand):
    help = "Routes the demo menu's items to the kitchen stations."

    @transaction.atomic
    def handle(self, *args: Any, **options: Any) -> None:
        has_default = Station.objects.filter(is_default=True).exists()
        for position, (slug, name, warn, late) in enumerate(DEMO_STATIONS, start=1):
            Station.objects.get_or_create(
                slug=slug,
                defaults={
                    "name": name,
                    "sort_order": position * 10,
                    "is_default": slug == "grill" and not has_default,
                    "warn_after_minutes": warn,
                    "late_after_minutes": late,
                },
            )
        stations = {s.slug: s for s in Station.objects.filter(slug__in=set(DEMO_ROUTES.values()))}
        routed = 0
        for item in MenuItem.objects.filter(category__slug__in=DEMO_ROUTES).select_related("category"):
            station = stations[DEMO_ROUTES[item.category.slug]]
            ItemRoute.objects.update_or_create(menu_item=item, defaults={"station": station})
            routed += 1
        self.stdout.write(
            self.style.SUCCESS(f"Kitchen ready: {routed} demo items routed to {len(stations)} stations.")
        )
