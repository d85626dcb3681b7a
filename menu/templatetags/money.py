from django import template

from menu.money import format_money, format_price_delta

register = template.Library()


@register.filter(name="money")
def money_filter(amount_minor: int | None, currency: str | None = None) -> str:
    if amount_minor is None:
        return ""
    return format_money(int(amount_minor), currency)


@register.filter(name="price_delta")
def price_delta_filter(amount_minor: int | None, currency: str | None = None) -> str:
    return format_price_delta(int(amount_minor or 0), currency)
