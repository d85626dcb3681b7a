"""The flag "vip_specials", off (Everyone: No) and already aimed at the VIP group.

A manager switches it in admin (Waffle > Flags): Everyone "Unknown" turns it
on for the VIP group (and any percentage set), "Yes" for everyone, "No" for
no one. README "VIP specials" lists the modes.
"""

from django.db import migrations

FLAG = "vip_specials"
VIP_GROUP = "VIP"
NOTE = (
    "Shows the menu items marked 'VIP special' and lets them be ordered. "
    "Everyone=No: no one. Everyone=Unknown: the groups below (VIP) and the percentage "
    "of other visitors (sticky per visitor by cookie). Everyone=Yes: everyone."
)


def flag_create(apps, schema_editor):
    Flag = apps.get_model("waffle", "Flag")
    Group = apps.get_model("auth", "Group")
    flag, created = Flag.objects.get_or_create(name=FLAG, defaults={"everyone": False, "note": NOTE})
    if created:
        flag.groups.add(Group.objects.get(name=VIP_GROUP))


def flag_drop(apps, schema_editor):
    apps.get_model("waffle", "Flag").objects.filter(name=FLAG).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("menu", "0002_menuitem_is_special"),
        ("accounts", "0004_vip_group"),
        ("waffle", "0004_update_everyone_nullbooleanfield"),
    ]

    operations = [migrations.RunPython(flag_create, flag_drop)]
