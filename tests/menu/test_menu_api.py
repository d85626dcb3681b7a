"""The menu over the API: the page's snapshot as JSON, ETag and 304, specials only for their audience."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from django.test import Client

from menu.cache import REBUILDS_KEY
from menu.pages import CACHE_CONTROL
from menu.services import menu_items_set_availability
from tests.api import api_error
from tests.conftest import client_for

pytestmark = pytest.mark.django_db

MENU = "/api/v1/menu/"


def _items(menu: dict) -> dict[str, dict]:
    return {item["slug"]: item for category in menu["categories"] for item in category["items"]}


def test_the_menu_lists_categories_items_and_their_choices_with_prices_in_minor_units(small_menu):
    response = Client().get(MENU)

    assert response.status_code == 200
    menu = response.json()
    assert menu["currency"] == "EUR"
    assert [category["slug"] for category in menu["categories"]] == ["mains", "drinks"]
    burger = _items(menu)["burger"]
    assert burger["price_minor"] == 1200 and burger["is_available"] is True
    cooking, extras = burger["modifier_groups"]
    assert (cooking["name"], cooking["min_choices"], cooking["max_choices"]) == ("Cooking", 1, 1)
    assert {option["name"]: option["price_delta_minor"] for option in extras["options"]} == {
        "Bacon": 200,
        "Cheese": 150,
        "Egg": 125,
    }
    assert _items(menu)["lobster"]["is_available"] is False  # 86ed: listed, not orderable


def test_the_api_and_the_page_share_one_snapshot_of_the_menu(small_menu):
    Client().get("/menu/")
    built = int(cache.get(REBUILDS_KEY) or 0)

    Client().get(MENU)
    Client().get(f"{MENU}items/burger/")

    assert int(cache.get(REBUILDS_KEY) or 0) == built


def test_a_client_revalidates_with_the_etag_and_gets_304_until_the_menu_changes(
    small_menu, django_capture_on_commit_callbacks
):
    app = Client()
    first = app.get(MENU)
    etag = first["ETag"]
    assert first["Cache-Control"] == CACHE_CONTROL

    again = app.get(MENU, HTTP_IF_NONE_MATCH=etag)
    assert again.status_code == 304 and again.content == b""
    assert again["ETag"] == etag

    with django_capture_on_commit_callbacks(execute=True):
        menu_items_set_availability(item_ids=[small_menu.fries.pk], available=False)
    changed = app.get(MENU, HTTP_IF_NONE_MATCH=etag)
    assert changed.status_code == 200 and changed["ETag"] != etag
    assert _items(changed.json())["fries"]["is_available"] is False


def test_one_item_and_the_availability_answer_from_the_same_menu(small_menu):
    item = Client().get(f"{MENU}items/lemonade/")
    availability = Client().get(f"{MENU}availability/")

    assert item.status_code == 200 and item["ETag"]
    assert item.json()["modifier_groups"][0]["name"] == "Size"
    assert item.json()["currency"] == "EUR"
    states = {entry["slug"]: entry["is_available"] for entry in availability.json()["items"]}
    assert states == {"burger": True, "fries": True, "lobster": False, "lemonade": True}
    options = {entry["id"]: entry for entry in availability.json()["options"]}
    assert options[small_menu.rare.pk] == {
        "id": small_menu.rare.pk,
        "item": small_menu.burger.pk,
        "is_available": True,
    }


def test_an_item_not_on_the_menu_is_a_404_in_the_error_shape(small_menu):
    error = api_error(Client().get(f"{MENU}items/no-such-dish/"), 404)

    assert error["code"] == "not_found"


def test_a_special_does_not_exist_for_a_caller_without_the_flag_and_shows_for_a_vip(
    special, flag, vip, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        flag.everyone = None  # the VIP group only
        flag.save()

    guest = Client()
    assert "truffle-wagyu" not in _items(guest.get(MENU).json())
    api_error(guest.get(f"{MENU}items/truffle-wagyu/"), 404)

    vip_client = client_for(vip)
    assert _items(vip_client.get(MENU).json())["truffle-wagyu"]["is_special"] is True
    assert vip_client.get(f"{MENU}items/truffle-wagyu/").status_code == 200
    # Two audiences, two ETags: a VIP's copy never revalidates a guest's.
    assert guest.get(MENU)["ETag"] != vip_client.get(MENU)["ETag"]


def test_the_menu_takes_no_writes(small_menu):
    response = Client().post(MENU, {}, content_type="application/json")

    assert api_error(response, 405)["code"] == "method_not_allowed"
