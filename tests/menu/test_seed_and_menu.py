"""The demo restaurant and the customer's menu pages."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.db.models import Count

from accounts.models import User
from menu.management.commands.seed_demo import DEMO_USERS
from menu.models import Category, MenuItem, ModifierGroup
from menu.money import format_money, format_price_delta

pytestmark = pytest.mark.django_db


def _counts() -> tuple[int, ...]:
    return (
        Category.objects.count(),
        MenuItem.objects.count(),
        ModifierGroup.objects.count(),
        User.objects.count(),
    )


def test_the_demo_restaurant_is_complete_and_seeding_twice_changes_nothing():
    call_command("seed_demo", stdout=open("/dev/null", "w"))  # noqa: SIM115
    first = _counts()
    call_command("seed_demo", stdout=open("/dev/null", "w"))  # noqa: SIM115

    assert _counts() == first
    assert first[0] >= 5
    assert first[1] >= 25
    assert MenuItem.objects.annotate(n=Count("allergens")).filter(n__gt=0).exists()
    assert MenuItem.objects.annotate(n=Count("dietary_tags")).filter(n__gt=0).exists()
    assert ModifierGroup.objects.filter(min_choices=1, max_choices=1).exists()
    assert ModifierGroup.objects.filter(min_choices=0, max_choices__gt=1).exists()
    assert 1 <= MenuItem.objects.filter(is_special=True).count() <= 2


def test_every_demo_login_works(client):
    call_command("seed_demo", stdout=open("/dev/null", "w"))  # noqa: SIM115
    assert {user["role"] for user in DEMO_USERS} >= {"customer", "waiter", "chef", "manager"}
    for user in DEMO_USERS:
        assert client.login(username=user["email"], password=user["password"]), user["email"]
        client.logout()


def test_the_menu_lists_categories_prices_allergens_and_sold_out_items(client, small_menu):
    small_menu.fries.allergens.create(code="celery", name="Celery")

    page = client.get("/").content.decode()

    assert "Mains" in page and "Drinks" in page
    assert format_money(1200) in page
    assert "Celery" in page
    assert 'data-item="lobster"' in page
    lobster = page.split('data-item="lobster"')[1].split("</li>")[0]
    assert "Sold out" in lobster


def test_an_item_page_offers_its_choices_with_price_changes(client, small_menu):
    page = client.get(small_menu.burger.get_absolute_url()).content.decode()

    assert "Choose 1" in page
    assert "Optional, up to 2" in page
    assert format_price_delta(200) in page
    assert 'type="radio"' in page and 'type="checkbox"' in page


def test_an_unknown_item_page_is_a_404(client, small_menu):
    assert client.get("/menu/no-such-dish/").status_code == 404


def test_money_is_formatted_in_the_restaurants_currency(settings):
    assert format_money(1250) == "€12.50"
    assert format_money(5) == "€0.05"
    assert format_price_delta(-100) == "−€1.00"
    settings.BRIGADE_CURRENCY = "JPY"
    # The yen has no minor unit: 1250 minor units are 1,250 yen.
    assert format_money(1250) == "JP¥1,250"
