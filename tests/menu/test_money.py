"""Money as customers read it: each currency's own decimals, the configured locale's symbol and separators."""

from __future__ import annotations

from django.test import override_settings

from menu.money import format_money, format_price_delta


def test_each_currency_keeps_its_own_number_of_decimals() -> None:
    assert format_money(1250, "EUR") == "€12.50"
    assert format_money(1250, "JPY") == "JP¥1,250"
    assert format_money(1250, "BHD") == "BHD1.250"


def test_the_configured_locale_is_used_even_for_an_amount_formatted_before() -> None:
    assert format_money(4321, "EUR") == "€43.21"
    with override_settings(BRIGADE_MONEY_LOCALE="de_DE"):
        assert format_money(4321, "EUR") == "43,21\xa0€"
    assert format_money(4321, "EUR") == "€43.21"


def test_the_default_currency_is_the_restaurants() -> None:
    with override_settings(BRIGADE_CURRENCY="GBP"):
        assert format_money(999) == "£9.99"


def test_a_price_delta_says_its_sign() -> None:
    assert format_price_delta(150, "EUR") == "+€1.50"
    assert format_price_delta(-100, "EUR") == "−€1.00"
    assert format_price_delta(0, "EUR") == ""
