"""Money for humans, in one place. Amounts are integer minor units everywhere else.

Babel knows each currency's number of decimals (JPY has none, BHD three) and
the locale's symbol and separators, which hand-written formatting gets wrong.
"""

from __future__ import annotations

import functools
from decimal import Decimal

from babel.numbers import format_currency, get_currency_precision
from django.conf import settings


def minor_to_decimal(amount_minor: int, currency: str | None = None) -> Decimal:
    precision = get_currency_precision(currency or settings.BRIGADE_CURRENCY)
    return Decimal(amount_minor).scaleb(-precision)


def decimal_to_minor(amount: Decimal, currency: str | None = None) -> int:
    """12.50 EUR -> 1250. Refuses amounts finer than the currency's minor unit."""
    precision = get_currency_precision(currency or settings.BRIGADE_CURRENCY)
    minor = amount.scaleb(precision)
    if minor != minor.to_integral_value():
        raise ValueError(f"{amount} has more decimals than the currency allows")
    return int(minor)


def format_money(amount_minor: int, currency: str | None = None) -> str:
    return _formatted(amount_minor, currency or settings.BRIGADE_CURRENCY, settings.BRIGADE_MONEY_LOCALE)


# A page shows the same few prices again and again (a menu, a cart, every
# checkout's total), and babel takes about 0.1 ms to format one.
@functools.lru_cache(maxsize=4096)
def _formatted(amount_minor: int, currency: str, locale: str) -> str:
    return format_currency(minor_to_decimal(amount_minor, currency), currency, locale=locale)


def format_price_delta(amount_minor: int, currency: str | None = None) -> str:
    """ "+€1.50" / "−€1.00" / "" for a modifier's effect on the price."""
    if amount_minor == 0:
        return ""
    sign = "+" if amount_minor > 0 else "−"
    return f"{sign}{format_money(abs(amount_minor), currency)}"
