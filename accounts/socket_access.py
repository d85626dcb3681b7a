"""Open sockets follow their user's right to them.

Signing out, deactivation, a role change (groups, the superuser flag), a new
password (which ends the account's other sessions) and a deleted account may
each end a user's right to the sockets they have open. Each sends that user's
socket group `access.changed` after commit; every socket of the user then
asks again as the session and the database say now (restaurant/sockets.py)
and closes with 4403 if the answer is no. A change that takes nothing away
costs each of the user's sockets one check and changes nothing.

A message the channel layer cannot take is logged, never raised: the change
is committed and the request must not fail for it; each socket asks again at
its next ping, a few seconds later.
"""

from __future__ import annotations

import logging
from typing import Any

from django.contrib.auth.models import Group
from django.contrib.auth.signals import user_logged_out
from django.db import transaction
from django.db.models.signals import m2m_changed, post_delete, post_save, pre_delete, pre_save
from django.dispatch import receiver

from accounts.models import User
from restaurant.broadcast import group_send
from restaurant.sockets import ACCESS_CHANGED, session_digest, user_group

logger = logging.getLogger("brigade.sockets")

# The user's own fields a socket's right depends on: active, superuser, and the
# password, whose hash every session of the account is signed with.
_ACCESS_FIELDS = ("is_active", "is_superuser", "password")


def user_sockets_recheck(*, user_id: int, ended_session_key: str | None = None) -> None:
    """After commit, makes every open socket of the user ask again whether it may stay open.

    `ended_session_key`: a session being signed out right now. Its sockets close
    even if their check comes before the session is deleted from the store.
    """
    message = {
        "type": ACCESS_CHANGED,
        "session_ended": session_digest(ended_session_key) if ended_session_key else None,
    }

    def send() -> None:
        try:
            group_send(user_group(user_id), message)
        except Exception as error:  # noqa: BLE001 - committed already; sockets check again at their next ping
            logger.warning(
                "socket access broadcast failed", extra={"user_id": user_id, "error": type(error).__name__}
            )

    transaction.on_commit(send)


@receiver(user_logged_out, dispatch_uid="accounts.socket_access.signed_out")
def _signed_out(sender: Any, request: Any, user: User | None, **kwargs: Any) -> None:
    if user is None:
        return
    session = getattr(request, "session", None)
    user_sockets_recheck(user_id=user.pk, ended_session_key=getattr(session, "session_key", None))


@receiver(pre_save, sender=User, dispatch_uid="accounts.socket_access.note_change")
def _note_access_change(sender: Any, instance: User, raw: bool, update_fields: Any, **kwargs: Any) -> None:
    if raw or instance.pk is None:
        return
    fields = [name for name in _ACCESS_FIELDS if update_fields is None or name in update_fields]
    if not fields:
        return  # last_login on sign-in, a profile edit: nothing a socket depends on
    before = User.objects.filter(pk=instance.pk).values(*fields).first()
    if before is not None and any(before[name] != getattr(instance, name) for name in fields):
        instance._brigade_access_changed = True  # type: ignore[attr-defined]


@receiver(post_save, sender=User, dispatch_uid="accounts.socket_access.saved")
def _access_change_saved(sender: Any, instance: User, created: bool, **kwargs: Any) -> None:
    # Sent from here, not from pre_save: outside a transaction, on_commit runs at
    # once, and the sockets must find the new row when they ask.
    if instance.__dict__.pop("_brigade_access_changed", False):
        user_sockets_recheck(user_id=instance.pk)


@receiver(post_delete, sender=User, dispatch_uid="accounts.socket_access.deleted")
def _user_deleted(sender: Any, instance: User, **kwargs: Any) -> None:
    user_sockets_recheck(user_id=instance.pk)


@receiver(m2m_changed, sender=User.groups.through, dispatch_uid="accounts.socket_access.roles")
def _roles_changed(sender: Any, instance: Any, action: str, pk_set: set[int] | None, **kwargs: Any) -> None:
    if isinstance(instance, User):
        user_ids = [instance.pk] if action in {"post_add", "post_remove", "post_clear"} else []
    elif action == "pre_clear":
        # group.user_set.clear() names no users afterwards: remember who they were.
        instance._brigade_members = list(instance.user_set.values_list("pk", flat=True))
        return
    elif action == "post_clear":
        user_ids = instance.__dict__.pop("_brigade_members", [])
    else:
        user_ids = sorted(pk_set or []) if action in {"post_add", "post_remove"} else []
    for user_id in user_ids:
        user_sockets_recheck(user_id=user_id)


@receiver(pre_delete, sender=Group, dispatch_uid="accounts.socket_access.role_deleted")
def _role_deleted(sender: Any, instance: Group, **kwargs: Any) -> None:
    # Deleting a group removes its members' rows without m2m signals. The
    # deletion runs in a transaction, so the sockets ask after it is committed.
    for user_id in instance.user_set.values_list("pk", flat=True):
        user_sockets_recheck(user_id=user_id)
