"""Sign-in and role changes, written to the security log."""

from __future__ import annotations

from typing import Any

from allauth.account.models import EmailAddress
from allauth.mfa.models import Authenticator
from allauth.mfa.signals import authentication_failed
from allauth.socialaccount.signals import social_account_added
from django.contrib.auth.signals import user_logged_in, user_login_failed
from django.db.models.signals import m2m_changed, post_save
from django.dispatch import receiver

from accounts.models import User
from accounts.security_events import account_ref, security_event
from accounts.sign_in_limits import sign_in_failure_record
from accounts.vip import user_vip_group_sync


@receiver(user_logged_in)
def _signed_in(sender: Any, request: Any, user: User, **kwargs: Any) -> None:
    security_event("sign-in succeeded", request=request, user_id=user.pk)


@receiver(user_login_failed)
def _sign_in_failed(sender: Any, credentials: dict[str, Any], request: Any = None, **kwargs: Any) -> None:
    identifier = str(credentials.get("email") or credentials.get("username") or "")
    security_event("sign-in failed", request=request, account=account_ref(identifier))
    # Wherever authenticate() was called (allauth's form, a reauthentication,
    # later the API), a wrong password spends the account's failure budget.
    if request is not None:
        sign_in_failure_record(request, login=identifier)


@receiver(authentication_failed, sender=Authenticator)
def _second_factor_failed(sender: Any, request: Any, user: User, **kwargs: Any) -> None:
    security_event("second factor failed", request=request, user_id=user.pk)
    if request is not None:
        sign_in_failure_record(request, login=user.email)


@receiver(social_account_added)
def _provider_vouched_for_the_address(sender: Any, request: Any, sociallogin: Any, **kwargs: Any) -> None:
    """A provider linked by an address it marks verified verifies it here too.

    Email verification is mandatory, and allauth links the provider to an
    existing account (SOCIALACCOUNT_EMAIL_AUTHENTICATION) without adding the
    address; the owner would be asked to confirm an address the provider
    just vouched for. allauth has already wiped the password of an account
    whose address was never verified here, so a pre-registered account gains
    nothing by this.
    """
    user = sociallogin.user
    for address in sociallogin.email_addresses:
        if address.verified and address.email.lower() == user.email.lower():
            EmailAddress.objects.update_or_create(
                user=user,
                email__iexact=address.email,
                defaults={"email": address.email, "verified": True},
                create_defaults={"email": address.email, "verified": True, "primary": True},
            )


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


@receiver(post_save, sender=User)
def _vip_follows_the_tick(
    sender: Any, instance: User, raw: bool = False, update_fields: Any = None, **kwargs: Any
) -> None:
    if raw:  # fixtures load groups as they were saved
        return
    if update_fields is not None and "is_vip" not in update_fields:
        return  # a sign-in's last_login, a password change: the tick did not move
    user_vip_group_sync(user=instance)


@receiver(m2m_changed, sender=User.groups.through)
def _vip_survives_a_groups_form(
    sender: Any, instance: Any, action: str, reverse: bool, **kwargs: Any
) -> None:
    # An admin form sets the groups it offers, VIP not among them; put it back
    # (or take away one added by hand without the tick).
    if action in {"post_add", "post_remove", "post_clear"} and isinstance(instance, User) and not reverse:
        user_vip_group_sync(user=instance)
