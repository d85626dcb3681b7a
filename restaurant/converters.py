"""Path converters shared by every app's urls.py (registered once, in restaurant/urls.py)."""

from __future__ import annotations

from restaurant.forms import DATABASE_ID_MAX


class DatabaseIdConverter:
    """`<id:name>`: a positive integer that fits a database id; anything else is a 404.

    Django's `<int:>` takes any number of digits, and a number past 2**63 - 1
    then overflows the query (SQLite) instead of finding nothing.
    """

    regex = "[0-9]{1,19}"

    def to_python(self, value: str) -> int:
        number = int(value)
        if not 1 <= number <= DATABASE_ID_MAX:
            # A ValueError makes the pattern not match: the request is answered 404.
            raise ValueError(f"{value} is not a database id")
        return number

    def to_url(self, value: int) -> str:
        return str(value)
