"""The VIP group, holding every account ticked VIP (accounts.vip keeps it so from now on)."""

from django.db import migrations

VIP_GROUP = "VIP"


def vip_group_fill(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    User = apps.get_model("accounts", "User")
    group, _ = Group.objects.get_or_create(name=VIP_GROUP)
    group.user_set.set(User.objects.filter(is_vip=True))


def vip_group_drop(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name=VIP_GROUP).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0003_vip_phone_addresses"),
        ("auth", "0012_alter_user_first_name_max_length"),
    ]

    operations = [migrations.RunPython(vip_group_fill, vip_group_drop)]
