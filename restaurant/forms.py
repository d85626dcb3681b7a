from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import ValidationError

# Sent by every form Django renders; never part of the form's own fields.
_ALWAYS_ALLOWED = frozenset({"csrfmiddlewaretoken"})


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
    if any(i <= 0 for i in ids):
        raise ValidationError(message, code="invalid_choice")
    return ids
