"""The `online_ordering` switch, on: online ordering works as it did until a manager turns it off."""

from django.db import migrations

SWITCH = "online_ordering"
NOTE = (
    "Off: the menu stays browsable, but customers cannot fill a cart or check out "
    "(\"we are not taking online orders right now\"). Table orders on the floor go on."
)


def create_switch(apps, schema_editor):
    Switch = apps.get_model("waffle", "Switch")
    Switch.objects.get_or_create(name=SWITCH, defaults={"active": True, "note": NOTE})


def remove_switch(apps, schema_editor):
    apps.get_model("waffle", "Switch").objects.filter(name=SWITCH).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("orders", "0011_partner_delivery_claims"),
        ("waffle", "0004_update_everyone_nullbooleanfield"),
    ]

    operations = [migrations.RunPython(create_switch, remove_switch)]
