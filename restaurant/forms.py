from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import ValidationError

# Sent by every form Django renders; never part of the form's own fields.
_ALWAYS_ALLOWED = frozenset({"csrfmiddlewaretoken"})

# The largest id a row can have: ids are signed 64-bit (BigAutoField) on
# PostgreSQL and SQLite alike. A larger number sent by anyone must be refused
# at the door: SQLite raises OverflowError on it, a 500 instead of "not found".
DATABASE_ID_MAX = 2**63 - 1
# Row versions (optimistic locking) are PositiveIntegerField: 32-bit on PostgreSQL.
VERSION_MAX = 2**31 - 1


def id_field(**kwargs: Any) -> forms.IntegerField:
    """An id from a form: a whole number a database id can be, or the form is invalid."""
    return forms.IntegerField(min_value=1, max_value=DATABASE_ID_MAX, **kwargs)


def version_field(**kwargs: Any) -> forms.IntegerField:
    """The version a page was rendered with, for optimistic locking."""
    return forms.IntegerField(min_value=1, max_value=VERSION_MAX, **kwargs)


class StrictForm(forms.Form):
    """A form that refuses fields it does not define.

    An extra field (a "price" added in the browser's dev tools) is a tampered
    request: say so instead of silently ignoring it.
    """

    def is_expected_field(self, name: str) -> bool:
        return name in self.fields or name in _ALWAYS_ALLOWED

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        unexpected = sorted(name for name in self.data if not self.is_expected_field(name))
        if unexpected:
            raise ValidationError(
                "This form does not accept the field(s): %(fields)s.",
                code="unexpected_field",
                params={"fields": ", ".join(name[:40] for name in unexpected[:5])},
            )
        return cleaned


def parse_id_list(values: list[str], *, max_items: int = 50) -> list[int]:
    """Positive integer ids from form values, or ValidationError."""
    message = "Choose from the options shown."
    if len(values) > max_items:
        raise ValidationError(message, code="invalid_choice")
    try:
        ids = [int(value) for value in values]
    except (TypeError, ValueError) as exc:
        raise ValidationError(message, code="invalid_choice") from exc
    if any(not 1 <= i <= DATABASE_ID_MAX for i in ids):
        raise ValidationError(message, code="invalid_choice")
    return ids
