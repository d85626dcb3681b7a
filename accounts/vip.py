"""The VIP group: who the flag "vip_specials" can be switched on for, fed by User.is_vip.

`User.is_vip` (ticked by managers) is the one truth; the Django group "VIP"
exists because waffle flags target groups. Membership follows the field on
every save and after every change of the account's groups (an admin form
saves the groups it offers with set(), which would drop a group it does not
offer), so nobody is in the group without the tick, or ticked without it.
The group grants no permission and is never offered in the roles widget.
"""

from __future__ import annotations

from django.contrib.auth.models import Group

from accounts.models import User

VIP_GROUP = "VIP"


def vip_group() -> Group:
    group, _ = Group.objects.get_or_create(name=VIP_GROUP)
    return group


def user_vip_group_sync(*, user: User) -> None:
    """Puts the account in the VIP group exactly when it is ticked VIP."""
    group = vip_group()
    is_member = user.groups.filter(pk=group.pk).exists()
    if user.is_vip and not is_member:
        user.groups.add(group)
    elif not user.is_vip and is_member:
        user.groups.remove(group)
