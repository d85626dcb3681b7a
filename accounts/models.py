from django.contrib.auth.models import AbstractUser
from django.db import models


class User(AbstractUser):
    """A person who signs in: customer or staff. Roles are Django groups."""

    # Sign-in is by email, so two accounts may never share one.
    email = models.EmailField("email address", unique=True)

    def __str__(self) -> str:
        return self.email or self.username
