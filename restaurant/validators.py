"""Validators for text people type, shared by every form."""

from __future__ import annotations

import re
import unicodedata

from django.core.exceptions import ValidationError

PHONE_CHARACTERS = re.compile(r"^[0-9 +\-()]+$")
PHONE_MIN_DIGITS = 6
PHONE_MAX_DIGITS = 20
# Explicit direction controls (embeddings, overrides, isolates) can make text
# display in another order than it is stored ("Trojan Source"), on a kitchen
# ticket as anywhere. Right-to-left letters themselves are welcome.
_BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c")
_LINE_BREAKS = frozenset("\n\r")


def _refuse_controls(value: str, *, allowed: frozenset[str]) -> None:
    if any(
        (unicodedata.category(char) == "Cc" and char not in allowed) or char in _BIDI_CONTROLS
        for char in value
    ):
        raise ValidationError(
            "Remove the invisible control characters from this text.", code="control_characters"
        )


def refuse_invisible_controls(value: str) -> None:
    """One-line text: no control characters (tab, newline, NUL…) and no direction overrides."""
    _refuse_controls(value, allowed=frozenset())


def refuse_invisible_controls_multiline(value: str) -> None:
    """Like refuse_invisible_controls, but line breaks are allowed (instructions, addresses)."""
    _refuse_controls(value, allowed=_LINE_BREAKS)


def validate_phone(value: str) -> None:
    digits = sum(char.isdigit() for char in value)
    if not PHONE_CHARACTERS.match(value) or not PHONE_MIN_DIGITS <= digits <= PHONE_MAX_DIGITS:
        raise ValidationError(
            "Enter a phone number: %(min)s to %(max)s digits; spaces, +, - and brackets are fine.",
            code="invalid_phone",
            params={"min": PHONE_MIN_DIGITS, "max": PHONE_MAX_DIGITS},
        )
