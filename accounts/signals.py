"""Sign-in and role changes, written to the security log."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.signals import user_logged_in, user_login_failed
from django.db.models.signals import m2m_changed
from django.dispatch import receiver

from accounts.models import User
from accounts.security_events import account_ref, security_event


@receiver(user_logged_in)
def _signed_in(sender: Any, request: Any, user: User, **kwargs: Any) -> None:
    security_event("sign-in succeeded", request=request, user_id=user.pk)


@receiver(user_login_failed)
def _sign_in_failed(sender: Any, credentials: dict[str, Any], request: Any = None, **kwargs: Any) -> None:
    identifier = str(credentials.get("email") or credentials.get("username") or "")
    security_event("sign-in failed", request=request, account=account_ref(identifier))


@receiver(m2m_changed, sender=User.groups.through)
def _roles_changed(sender: Any, instance: Any, action: str, pk_set: set[int] | None, **kwargs: Any) -> None:
    if action not in {"post_add", "post_remove", "post_clear"}:
        return
    if isinstance(instance, User):
        instance.__dict__.pop("_brigade_roles", None)  # roles_of() asks again
        security_event(
            "roles changed",
            user_id=instance.pk,
            change=action.removeprefix("post_"),
            group_ids=sorted(pk_set or []),
            roles=sorted(instance.groups.values_list("name", flat=True)),
        )
