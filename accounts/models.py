import uuid

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.db import models


class User(AbstractUser):
    """A person who signs in: customer or staff. Roles are Django groups."""

    # Sign-in is by email, so two accounts may never share one.
    email = models.EmailField("email address", unique=True)
    phone = models.CharField(max_length=32, blank=True)
    # Set by managers only; unlocks the VIP specials on the menu.
    is_vip = models.BooleanField(
        "VIP", default=False, help_text="VIP guests see the VIP specials. Only managers can set this."
    )

    def __str__(self) -> str:
        return self.email or self.username


class Address(models.Model):
    """A delivery address a customer saved to their account."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="addresses")
    label = models.CharField(max_length=40, help_text="Home, Work…")
    street = models.CharField(max_length=200)
    city = models.CharField(max_length=100)
    postcode = models.CharField(max_length=16, blank=True)
    instructions = models.CharField(
        max_length=200, blank=True, help_text="Gate code, floor, where to leave it."
    )
    is_default = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ("-is_default", "label")
        verbose_name_plural = "addresses"
        constraints = [
            models.UniqueConstraint(
                fields=("user",), condition=models.Q(is_default=True), name="address_one_default_per_user"
            )
        ]

    def __str__(self) -> str:
        return f"{self.label}: {self.one_line()}"

    def one_line(self) -> str:
        return ", ".join(part for part in (self.street, self.postcode, self.city) if part)


class AppSession(models.Model):
    """One sign-in of an app (JWT): the refresh token it holds now, and whether it has ended.

    Access tokens are short-lived, but every request with one is checked
    against its session here, so signing out, an account disabled or a
    password changed ends it at once, not when the token expires.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="app_sessions")
    # The jti of the one refresh token that may be used next; rotation replaces it.
    refresh_jti = models.CharField(max_length=64)
    # The user's session auth hash at sign-in (as Django's own sessions keep
    # it): a password change makes it differ, which ends the session.
    auth_hash = models.CharField(max_length=128)
    created_at = models.DateTimeField(auto_now_add=True)
    refreshed_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    ended_because = models.CharField(max_length=40, blank=True)

    class Meta:
        indexes = [models.Index(fields=("user", "ended_at"), name="appsession_user_open")]

    def __str__(self) -> str:
        return f"app session of {self.user} since {self.created_at:%Y-%m-%d %H:%M}"
