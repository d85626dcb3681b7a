"""The usual stations of a line kitchen, grill first and default; managers rename or add in admin."""

from django.db import migrations

STATIONS = [
    # slug, name, warn after, late after (minutes)
    ("grill", "Grill", 10, 18),
    ("fry", "Fry", 6, 12),
    ("cold", "Cold", 6, 12),
    ("pastry", "Pastry", 8, 15),
    ("bar", "Bar", 3, 6),
]


def create_stations(apps, schema_editor):
    Station = apps.get_model("kitchen", "Station")
    BoardClock = apps.get_model("kitchen", "BoardClock")
    for position, (slug, name, warn, late) in enumerate(STATIONS, start=1):
        Station.objects.get_or_create(
            slug=slug,
            defaults={
                "name": name,
                "sort_order": position * 10,
                "is_default": slug == "grill",
                "warn_after_minutes": warn,
                "late_after_minutes": late,
            },
        )
    BoardClock.objects.get_or_create(pk=1)


class Migration(migrations.Migration):
    dependencies = [("kitchen", "0001_stations_and_tickets")]

    operations = [migrations.RunPython(create_stations, migrations.RunPython.noop)]
