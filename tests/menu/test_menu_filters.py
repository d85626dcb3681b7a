"""Filtering the menu by dietary tag and allergen: GET parameters checked, the cache kept honest.

The filtered page is the menu's data only: its ETag is told apart by the
filter's canonical form, it is never kept as the shared guest page, and a
value that is no code is a 400 naming it, escaped.
"""

from __future__ import annotations

import re

import pytest
from django.test import Client

from menu.models import Allergen, DietaryTag
from tests.conftest import client_for

pytestmark = pytest.mark.django_db

ITEM = re.compile(r'data-item="([a-z0-9-]+)"')
JSON = {"HTTP_ACCEPT": "application/json"}


@pytest.fixture
def labelled_menu(small_menu, django_capture_on_commit_callbacks):  # type: ignore[no-untyped-def]
    """Fries: vegan and gluten-free. Lemonade: vegan. Burger: gluten and milk."""
    with django_capture_on_commit_callbacks(execute=True):
        vegan = DietaryTag.objects.create(code="vegan", name="Vegan")
        gluten_free = DietaryTag.objects.create(code="gluten-free", name="Gluten-free")
        gluten = Allergen.objects.create(code="gluten", name="Cereals containing gluten")
        milk = Allergen.objects.create(code="milk", name="Milk")
        Allergen.objects.create(code="nuts", name="Nuts")
        small_menu.fries.dietary_tags.add(vegan, gluten_free)
        small_menu.lemonade.dietary_tags.add(vegan)
        small_menu.burger.allergens.add(gluten, milk)
    return small_menu


def _dishes(response) -> list[str]:  # type: ignore[no-untyped-def]
    assert response.status_code == 200, response.status_code
    return ITEM.findall(response.content.decode())


@pytest.mark.parametrize(
    ("query", "dishes"),
    [
        ("", ["burger", "fries", "lemonade", "lobster"]),
        ("?diet=vegan", ["fries", "lemonade"]),
        ("?diet=vegan&diet=gluten-free", ["fries"]),
        ("?free_of=gluten", ["fries", "lemonade", "lobster"]),
        ("?free_of=nuts", ["burger", "fries", "lemonade", "lobster"]),
        ("?diet=gluten-free&free_of=milk", ["fries"]),
        # Someone else's parameters (a campaign link) are ignored.
        ("?utm_source=flyer", ["burger", "fries", "lemonade", "lobster"]),
    ],
)
def test_the_menu_keeps_the_dishes_with_every_tag_and_none_of_the_allergens(
    client, labelled_menu, query, dishes
) -> None:
    assert sorted(_dishes(client.get("/" + query))) == dishes


def test_the_form_shows_the_filters_ticked_and_a_way_back(client, labelled_menu) -> None:
    html = client.get("/?diet=vegan&free_of=milk").content.decode()

    assert '<input type="checkbox" name="diet" value="vegan" checked>' in html
    assert '<input type="checkbox" name="diet" value="gluten-free">' in html
    assert '<input type="checkbox" name="free_of" value="milk" checked>' in html
    assert "Clear filters" in html


def test_a_filter_nothing_matches_says_so(client, labelled_menu, django_capture_on_commit_callbacks) -> None:
    # A new tag bumps the menu's version: the next request knows it, and no dish has it yet.
    with django_capture_on_commit_callbacks(execute=True):
        DietaryTag.objects.create(code="halal", name="Halal")

    page = client.get("/?diet=halal")

    assert page.status_code == 200 and ITEM.findall(page.content.decode()) == []
    assert "No dish on the menu matches these filters." in page.content.decode()


@pytest.mark.parametrize(
    "query",
    [
        "?diet=paleo",
        "?free_of=vegan",  # a tag is not an allergen
        "?diet=%3Cscript%3Ealert(1)%3C/script%3E",
        "?diet=veg%00an",
        "?diet=" + "x" * 5000,
        "?" + "&".join(["diet=vegan"] * 41),
    ],
    ids=["unknown", "wrong kind", "script", "NUL", "oversized", "too many"],
)
def test_a_filter_no_code_has_is_a_400_that_names_it_escaped(client, labelled_menu, query) -> None:
    page = client.get("/" + query)
    answer = client.get("/" + query, **JSON)

    html = page.content.decode()
    assert page.status_code == 400
    assert "<script>alert(1)" not in html
    assert 'role="alert"' in html
    assert len(html) < 60_000  # the 5,000 characters are not repeated
    assert answer.status_code == 400
    assert answer.json()["error"]["code"] == "invalid_filter"
    assert "ETag" not in page


def test_the_filtered_page_has_its_own_etag_whatever_the_order_or_repeats(client, labelled_menu) -> None:
    whole = client.get("/")["ETag"]
    one = client.get("/?diet=vegan&diet=gluten-free")["ETag"]
    same = client.get("/?diet=gluten-free&diet=vegan&diet=vegan")["ETag"]
    other = client.get("/?diet=vegan")["ETag"]

    assert one == same
    assert len({whole, one, other}) == 3
    assert client.get("/?diet=gluten-free&diet=vegan", HTTP_IF_NONE_MATCH=one).status_code == 304
    assert client.get("/", HTTP_IF_NONE_MATCH=one).status_code == 200


def test_a_filtered_page_never_becomes_anyone_elses_menu(labelled_menu, actors) -> None:
    # Given a signed-in customer who filters, then a new guest filtering the same and one not filtering
    customer = client_for(actors.customer)
    assert "Sign out" in customer.get("/?diet=vegan").content.decode()
    guest_filtered = Client().get("/?diet=vegan").content.decode()
    guest_whole = Client().get("/").content.decode()

    # Then neither guest sees the customer's page, and the guest's whole menu is whole
    for html in (guest_filtered, guest_whole):
        assert "Sign out" not in html
        assert actors.customer.username not in html
    assert sorted(ITEM.findall(guest_whole)) == ["burger", "fries", "lemonade", "lobster"]
    assert sorted(ITEM.findall(guest_filtered)) == ["fries", "lemonade"]


def test_a_new_tag_on_a_dish_shows_in_the_filter_at_once(
    client, labelled_menu, django_capture_on_commit_callbacks
) -> None:
    assert _dishes(client.get("/?diet=gluten-free")) == ["fries"]

    with django_capture_on_commit_callbacks(execute=True):
        labelled_menu.lemonade.dietary_tags.add(DietaryTag.objects.get(code="gluten-free"))

    assert sorted(_dishes(client.get("/?diet=gluten-free"))) == ["fries", "lemonade"]
