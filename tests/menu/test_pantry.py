"""The pantry: recipes, the ledger that always sums to the levels, admin's stock forms, and auto-86."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from django.db.models import Sum
from django.test import Client
from django.urls import reverse

from accounts.roles import Actor
from menu.models import (
    Ingredient,
    MovementKind,
    OptionEffect,
    OptionRecipeLine,
    RecipeLine,
    StockMovement,
)
from menu.pantry.selectors import Portion, recipe_needs
from menu.pantry.services import stock_count, stock_deliver, stock_waste
from orders.models import OrderStatus
from orders.pricing import CartLine
from orders.services import OrderDetails, order_cancel, order_place, order_transition
from tests.conftest import STOCKROOM, client_for, stock
from tests.factories import ModifierOptionFactory

INGREDIENTS_URL = "/admin/menu/ingredient/"
TILL = Actor.system("test-till")
KITCHEN = Actor.system("test-kitchen")


def place(menu, *lines: CartLine):  # type: ignore[no-untyped-def]
    order, _ = order_place(
        lines=list(lines),
        details=OrderDetails(order_type="pickup", contact_name="Ada", contact_email="ada@example.test"),
        actor=Actor.guest(),
    )
    return order


def burger(menu, quantity: int = 1, *options) -> CartLine:  # type: ignore[no-untyped-def]
    return CartLine(menu.burger.pk, quantity, (menu.medium.pk, *(option.pk for option in options)))


# ---------------------------------------------------------------- recipes


def test_options_add_to_and_take_away_from_a_portions_recipe_never_below_none(small_menu, pantry):
    no_bun = ModifierOptionFactory(group=small_menu.cheese.group, name="No bun")
    OptionRecipeLine.objects.create(
        option=no_bun, ingredient=pantry.bun, effect=OptionEffect.REMOVE, quantity=2
    )

    needs = recipe_needs(
        portions=[
            Portion(small_menu.burger.pk, 2, (small_menu.cheese.pk,), "Burger"),
            Portion(small_menu.burger.pk, 3, (no_bun.pk,), "Burger"),
            Portion(small_menu.lemonade.pk, 4, (small_menu.large.pk,), "Lemonade"),
        ]
    )

    assert {pk: need.quantity for pk, need in needs.items()} == {
        pantry.patty.pk: 5,
        pantry.bun.pk: 2,  # the bunless three take none, not minus one each
        pantry.cheese.pk: 2,
    }
    assert needs[pantry.patty.pk].names == ["Burger"]


# ---------------------------------------------------------------- the ledger


def test_every_level_is_the_sum_of_its_ledger_whatever_happened(small_menu, pantry, actors):
    # Given a day of everything that moves stock
    cancelled = place(small_menu, burger(small_menu, 2, small_menu.cheese))
    order_cancel(order=cancelled, actor=Actor.guest(), reason="")
    cooked = place(small_menu, burger(small_menu, 3), CartLine(small_menu.fries.pk, 2))
    order_transition(order=cooked, to_status=OrderStatus.PAID, actor=TILL)
    order_transition(order=cooked, to_status=OrderStatus.IN_PREPARATION, actor=Actor.for_user(actors.chef))
    wasted = place(small_menu, burger(small_menu, 1, small_menu.cheese))
    order_transition(order=wasted, to_status=OrderStatus.PAID, actor=TILL)
    order_transition(order=wasted, to_status=OrderStatus.IN_PREPARATION, actor=Actor.for_user(actors.chef))
    order_transition(order=wasted, to_status=OrderStatus.REFUNDED, actor=Actor.for_user(actors.manager))
    place(small_menu, burger(small_menu, 2))  # still held
    stock_deliver(ingredient_id=pantry.cheese.pk, quantity="12", unit="piece", actor=STOCKROOM)
    stock_waste(ingredient_id=pantry.potatoes.pk, quantity="150.5", unit="g", actor=STOCKROOM, reason="green")
    stock_count(ingredient_id=pantry.bun.pk, counted="3", unit="piece", actor=STOCKROOM)

    # Then each ingredient's levels are its movements summed
    for ingredient in Ingredient.objects.all():
        sums = ingredient.movements.aggregate(on_hand=Sum("on_hand_change"), reserved=Sum("reserved_change"))
        assert (ingredient.on_hand, ingredient.reserved) == (sums["on_hand"], sums["reserved"]), ingredient

    # And the levels are what the day left
    levels = {i.name: (i.on_hand, i.reserved) for i in Ingredient.objects.all()}
    assert levels == {
        "Beef patty": (6, 2),  # 10, 3 cooked, 1 cooked then refunded, 2 held
        "Brioche bun": (3, 2),  # counted 3 (the count finds what is there, held ones included)
        "Cheddar slice": (16, 0),  # 5 - 1 cooked + 12 delivered
        "Potatoes": (Decimal("1449.5"), 0),  # 2000 - 400 cooked - 150.5 green
    }


# ---------------------------------------------------------------- admin: recipes


def _formset(prefix: str, *rows: dict[str, object]) -> dict[str, object]:
    data: dict[str, object] = {
        f"{prefix}-TOTAL_FORMS": str(len(rows)),
        f"{prefix}-INITIAL_FORMS": "0",
        f"{prefix}-MIN_NUM_FORMS": "0",
        f"{prefix}-MAX_NUM_FORMS": "1000",
    }
    for index, row in enumerate(rows):
        data |= {f"{prefix}-{index}-{name}": value for name, value in row.items()}
    return data


def test_a_manager_edits_recipes_inline_with_the_item_and_with_the_option(small_menu, pantry, actors):
    manager = client_for(actors.manager)
    lemonade_url = reverse("admin:menu_menuitem_change", args=[small_menu.lemonade.pk])
    page = manager.get(lemonade_url).content.decode()
    assert "recipe (one portion)" in page.lower()
    lemons = Ingredient.objects.create(name="Lemon", unit="piece")

    response = manager.post(
        lemonade_url,
        {
            "category": small_menu.lemonade.category_id,
            "name": "Lemonade",
            "slug": "lemonade",
            "price_minor": "350",
            "is_available": "on",
            "is_listed": "on",
            "sort_order": "0",
            **_formset("item_groups"),
            **_formset("recipe_lines", {"ingredient": lemons.pk, "quantity": "0.5"}),
        },
    )
    assert response.status_code == 302, response.context["errors"] if response.context else ""
    assert list(RecipeLine.objects.filter(item=small_menu.lemonade).values_list("quantity", flat=True)) == [
        Decimal("0.5")
    ]

    option_url = reverse("admin:menu_modifieroption_change", args=[small_menu.bacon.pk])
    assert "recipe change when chosen" in manager.get(option_url).content.decode().lower()
    bacon = Ingredient.objects.create(name="Bacon rasher", unit="piece")
    response = manager.post(
        option_url,
        {
            "group": small_menu.bacon.group_id,
            "name": "Bacon",
            "price_delta_minor": "200",
            "is_available": "on",
            "sort_order": "0",
            **_formset("recipe_lines", {"ingredient": bacon.pk, "effect": "add", "quantity": "2"}),
        },
    )
    assert response.status_code == 302
    line = OptionRecipeLine.objects.get(option=small_menu.bacon)
    assert (line.ingredient, line.effect, line.quantity) == (bacon, OptionEffect.ADD, 2)

    # Levels are the ledger's: the ingredient form shows them, it cannot set them
    ingredient_page = manager.get(reverse("admin:menu_ingredient_change", args=[pantry.patty.pk])).content
    assert b'name="on_hand"' not in ingredient_page and b'name="reserved"' not in ingredient_page


# ---------------------------------------------------------------- admin: deliveries, waste, counts


def _stock_form(client: Client, action: str, ingredient: Ingredient, **data: object):  # type: ignore[no-untyped-def]
    return client.post(INGREDIENTS_URL, {"action": action, "_selected_action": [ingredient.pk], **data})


def _token(client: Client, action: str, ingredient: Ingredient) -> str:
    page = _stock_form(client, action, ingredient).content.decode()
    return re.search(r'name="token" value="([0-9a-f-]+)"', page).group(1)


def test_a_manager_records_a_delivery_waste_and_a_count_through_admin(small_menu, pantry, actors):
    manager = client_for(actors.manager)

    token = _token(manager, "record_delivery", pantry.potatoes)
    delivered = _stock_form(
        manager,
        "record_delivery",
        pantry.potatoes,
        apply="1",
        quantity="5000",
        unit="g",
        reason="Murphy's",
        token=token,
    )
    assert delivered.status_code == 302
    # The same form sent again (a double click, a reload) records nothing more
    again = _stock_form(
        manager,
        "record_delivery",
        pantry.potatoes,
        apply="1",
        quantity="5000",
        unit="g",
        reason="Murphy's",
        token=token,
    )
    assert "This form was sent before" in manager.get(again["Location"]).content.decode()

    token = _token(manager, "record_waste", pantry.potatoes)
    assert (
        _stock_form(
            manager,
            "record_waste",
            pantry.potatoes,
            apply="1",
            quantity="250",
            unit="g",
            reason="green",
            token=token,
        ).status_code
        == 302
    )

    token = _token(manager, "record_count", pantry.potatoes)
    counted = _stock_form(
        manager, "record_count", pantry.potatoes, apply="1", quantity="6500", unit="g", token=token
    )
    assert counted.status_code == 302
    assert (
        "Count correction of Potatoes recorded; on hand 6500.000 g"
        in manager.get(counted["Location"]).content.decode()
    )

    moves = [
        (m.kind, m.on_hand_change, m.actor_label)
        for m in StockMovement.objects.filter(ingredient=pantry.potatoes).order_by("pk")
    ]
    assert moves[1:] == [
        (MovementKind.DELIVERY, 5000, actors.manager.email),
        (MovementKind.WASTE, -250, actors.manager.email),
        (MovementKind.COUNT_CORRECTION, -250, actors.manager.email),  # 6750 there, 6500 counted
    ]
    assert Ingredient.objects.get(pk=pantry.potatoes.pk).on_hand == 6500


@pytest.mark.parametrize(
    ("action", "data", "message"),
    [
        ("record_delivery", {"quantity": "-5", "unit": "g"}, "The quantity cannot be negative."),
        ("record_delivery", {"quantity": "0", "unit": "g"}, "The quantity must be more than zero."),
        ("record_delivery", {"quantity": "25000000", "unit": "g"}, "is more than any one movement can be"),
        ("record_delivery", {"quantity": "1.23456", "unit": "g"}, "Use at most 3 decimals."),
        ("record_delivery", {"quantity": "lots", "unit": "g"}, "Enter a number."),
        ("record_delivery", {"quantity": "5", "unit": "piece"}, "Potatoes is kept in grams (g), not piece"),
        (
            "record_waste",
            {"quantity": "9000", "unit": "g", "reason": "x"},
            "Only 2000.000 g of Potatoes is on hand",
        ),
        ("record_waste", {"quantity": "10", "unit": "g", "reason": ""}, "This field is required."),
        ("record_count", {"quantity": "-1", "unit": "g"}, "The quantity cannot be negative."),
        ("record_count", {"quantity": "3", "unit": "ml"}, "Potatoes is kept in grams (g), not ml"),
    ],
)
def test_bad_stock_input_is_refused_with_a_clear_error_and_changes_nothing(
    small_menu, pantry, actors, action, data, message
):
    manager = client_for(actors.manager)
    token = _token(manager, action, pantry.potatoes)
    before = StockMovement.objects.count()

    response = _stock_form(manager, action, pantry.potatoes, apply="1", token=token, **{"reason": "", **data})

    assert response.status_code == 400
    assert message in response.content.decode()
    assert StockMovement.objects.count() == before
    assert Ingredient.objects.get(pk=pantry.potatoes.pk).on_hand == 2000


def test_only_managers_record_stock(small_menu, pantry, actors):
    response = _stock_form(client_for(actors.chef), "record_delivery", pantry.potatoes)
    assert response.status_code == 302 and "/login/" in response["Location"]


# ---------------------------------------------------------------- auto-86


def _entry(html: str, slug: str) -> str:
    start = html.index(f'data-item="{slug}"')
    end = html.find('data-item="', start + 1)
    return html[start : end if end != -1 else None]


def _sold_out_on_menu(guest: Client, slug: str) -> bool:
    return "Sold out" in _entry(guest.get("/menu/").content.decode(), slug)


def test_an_item_the_pantry_cannot_make_shows_sold_out_everywhere_and_comes_back_with_a_delivery(
    small_menu, pantry, actors, django_capture_on_commit_callbacks
):
    stock(pantry.bun, 20)  # patties are what runs out
    guest, chef = Client(), client_for(actors.chef)
    burger_url = small_menu.burger.get_absolute_url()
    assert not _sold_out_on_menu(guest, "burger")  # cached from here on, under the menu version

    # The fifth cheese slice is reserved: the cheese option is out, the burger is still on
    with django_capture_on_commit_callbacks(execute=True):
        place(small_menu, burger(small_menu, 5, small_menu.cheese))
    item_page = guest.get(burger_url).content.decode()
    assert re.search(r"Cheese\s.*?\(sold out\)", item_page, re.S)
    assert not _sold_out_on_menu(guest, "burger")

    # The last patties go: the burger is sold out on the menu, its page and the board's 86 list
    with django_capture_on_commit_callbacks(execute=True):
        held = place(small_menu, burger(small_menu, 5))
    assert _sold_out_on_menu(guest, "burger")
    assert "Sold out</strong> — not available right now." in guest.get(burger_url).content.decode()
    board = chef.get(reverse("kitchen:board")).content.decode()
    assert 'data-sold-out="Burger">Burger <span class="muted">(out of stock)' in board
    assert 'data-sold-out="Extras: Cheese"' in board
    assert not _sold_out_on_menu(guest, "fries")

    # A cancelled order gives its patties back: on again
    with django_capture_on_commit_callbacks(execute=True):
        order_cancel(order=held, actor=Actor.guest(), reason="")
    assert not _sold_out_on_menu(guest, "burger")
    with django_capture_on_commit_callbacks(execute=True):
        place(small_menu, burger(small_menu, 5))
    assert _sold_out_on_menu(guest, "burger")

    # A delivery restocks it
    with django_capture_on_commit_callbacks(execute=True):
        stock_deliver(ingredient_id=pantry.patty.pk, quantity=20, unit="piece", actor=STOCKROOM)
    assert not _sold_out_on_menu(guest, "burger")
    assert 'data-sold-out="Burger"' not in chef.get(reverse("kitchen:board")).content.decode()


def test_a_managers_86_still_wins_over_a_full_pantry(
    small_menu, pantry, actors, django_capture_on_commit_callbacks
):
    stock(pantry.bun, 20)
    guest = Client()
    with django_capture_on_commit_callbacks(execute=True):
        place(small_menu, burger(small_menu, 10))
    assert _sold_out_on_menu(guest, "burger")
    manager = client_for(actors.manager)
    with django_capture_on_commit_callbacks(execute=True):
        manager.post(
            "/admin/menu/menuitem/", {"action": "mark_sold_out", "_selected_action": [small_menu.burger.pk]}
        )

    # Restocked, but the manager's 86 stands
    with django_capture_on_commit_callbacks(execute=True):
        stock_deliver(ingredient_id=pantry.patty.pk, quantity=20, unit="piece", actor=STOCKROOM)
    assert _sold_out_on_menu(guest, "burger")
    board = client_for(actors.chef).get(reverse("kitchen:board")).content.decode()
    assert 'data-sold-out="Burger">Burger <span class="muted">(86)' in board

    with django_capture_on_commit_callbacks(execute=True):
        manager.post(
            "/admin/menu/menuitem/", {"action": "mark_back_on", "_selected_action": [small_menu.burger.pk]}
        )
    assert not _sold_out_on_menu(guest, "burger")


def test_orders_that_do_not_cross_a_recipe_line_leave_the_menu_version_alone(
    small_menu, pantry, django_capture_on_commit_callbacks
):
    from django.core.cache import cache

    from menu.cache import VERSION_KEY

    Client().get("/menu/")
    version = cache.get(VERSION_KEY)
    with django_capture_on_commit_callbacks(execute=True):
        place(small_menu, burger(small_menu, 3), CartLine(small_menu.fries.pk, 2))
    assert cache.get(VERSION_KEY) == version


# ---------------------------------------------------------------- the demo restaurant


def test_the_demo_pantry_stocks_the_menu_with_grilled_salmon_two_portions_from_sold_out(
    db, django_capture_on_commit_callbacks
):
    from django.core.management import call_command

    from menu.models import MenuItem

    call_command("seed_demo", verbosity=0)
    call_command("seed_demo", verbosity=0)  # a second run changes no stock
    assert StockMovement.objects.count() == Ingredient.objects.count()  # one demo count each
    assert RecipeLine.objects.filter(item__slug="classic-burger").count() == 2

    salmon = MenuItem.objects.get(slug="grilled-salmon")
    required = [link.group.options.first().pk for link in salmon.item_groups.filter(group__min_choices__gt=0)]
    guest = Client()
    assert not _sold_out_on_menu(guest, "grilled-salmon")
    with django_capture_on_commit_callbacks(execute=True):
        place(None, CartLine(salmon.pk, 2, tuple(required)))
    assert _sold_out_on_menu(guest, "grilled-salmon")
