"""The demo restaurant's pantry: ingredients, recipes for its menu, and stock, one dish nearly gone.

Seeded by `manage.py seed_demo` after the menu. Ingredients and recipes
converge on these tables every run; stock is brought to its demo level by a
count only for an ingredient with no ledger yet, so re-running the seed (each
`make run`) never undoes what the demo's orders, deliveries and counts did.
"""

from __future__ import annotations

from decimal import Decimal

from accounts.roles import Actor
from menu.models import MenuItem, ModifierOption
from menu.pantry.models import Ingredient, OptionEffect, OptionRecipeLine, RecipeLine, Unit
from menu.pantry.services import stock_count

SEED = Actor.system("demo-seed")

# name: (unit, par level, reorder point, demo stock on hand)
INGREDIENTS: dict[str, tuple[str, int, int, int]] = {
    "Beef patty": (Unit.PIECE, 120, 40, 80),
    "Brioche bun": (Unit.PIECE, 150, 40, 100),
    "Cheddar slice": (Unit.PIECE, 200, 50, 140),
    "Bacon rasher": (Unit.PIECE, 120, 30, 70),
    "Chicken breast": (Unit.PIECE, 60, 15, 35),
    "Potatoes": (Unit.GRAM, 40000, 10000, 24000),
    "Pizza dough ball": (Unit.PIECE, 60, 20, 40),
    "Mozzarella": (Unit.GRAM, 6000, 1500, 4000),
    # The dish that is nearly gone: two portions of Grilled Salmon, then it shows sold out.
    "Salmon fillet": (Unit.PIECE, 24, 8, 2),
    "Arborio rice": (Unit.GRAM, 5000, 1000, 2700),
    "Lemon": (Unit.PIECE, 60, 15, 45),
}

# item slug: {ingredient: quantity in one portion}
RECIPES: dict[str, dict[str, str]] = {
    "classic-burger": {"Beef patty": "1", "Brioche bun": "1"},
    "bacon-cheeseburger": {"Beef patty": "1", "Brioche bun": "1", "Cheddar slice": "2", "Bacon rasher": "2"},
    "double-smash-burger": {"Beef patty": "2", "Brioche bun": "1", "Cheddar slice": "2"},
    "bbq-burger": {"Beef patty": "1", "Brioche bun": "1", "Cheddar slice": "1"},
    "crispy-chicken-sandwich": {"Chicken breast": "1", "Brioche bun": "1"},
    "chicken-schnitzel": {"Chicken breast": "1"},
    "margherita-pizza": {"Pizza dough ball": "1", "Mozzarella": "125"},
    "pepperoni-pizza": {"Pizza dough ball": "1", "Mozzarella": "110"},
    "garden-vegetable-pizza": {"Pizza dough ball": "1", "Mozzarella": "100"},
    "fish-chips": {"Potatoes": "250", "Lemon": "0.25"},
    "grilled-salmon": {"Salmon fillet": "1", "Lemon": "0.25"},
    "mushroom-risotto": {"Arborio rice": "90"},
    "fries": {"Potatoes": "250"},
    "lemonade": {"Lemon": "1"},
}

# (modifier group's internal name, option): [(ingredient, effect, quantity)]
OPTION_RECIPES: dict[tuple[str, str], list[tuple[str, str, str]]] = {
    ("burger extras", "Bacon"): [("Bacon rasher", OptionEffect.ADD, "2")],
    ("burger extras", "Cheddar"): [("Cheddar slice", OptionEffect.ADD, "1")],
    ("main side", "Fries"): [("Potatoes", OptionEffect.ADD, "150")],
    ("drink size", "Large"): [("Lemon", OptionEffect.ADD, "0.5")],
}


def pantry_seed() -> dict[str, int]:
    """Creates or refreshes the demo pantry; returns counts for the seed's summary."""
    ingredients: dict[str, Ingredient] = {}
    for name, (unit, par, reorder, _) in INGREDIENTS.items():
        ingredients[name], _ = Ingredient.objects.update_or_create(
            name=name, defaults={"unit": unit, "par_level": par, "reorder_point": reorder}
        )
    items = MenuItem.objects.in_bulk(list(RECIPES), field_name="slug")
    for slug, recipe in RECIPES.items():
        item = items[slug]
        for name, quantity in recipe.items():
            RecipeLine.objects.update_or_create(
                item=item, ingredient=ingredients[name], defaults={"quantity": Decimal(quantity)}
            )
        item.recipe_lines.exclude(ingredient__name__in=recipe).delete()
    for (group, option_name), lines in OPTION_RECIPES.items():
        option = ModifierOption.objects.get(group__internal_name=group, name=option_name)
        for name, effect, quantity in lines:
            OptionRecipeLine.objects.update_or_create(
                option=option,
                ingredient=ingredients[name],
                defaults={"effect": effect, "quantity": Decimal(quantity)},
            )
    for name, (unit, _, _, on_hand) in INGREDIENTS.items():
        ingredient = ingredients[name]
        if not ingredient.movements.exists():
            stock_count(
                ingredient_id=ingredient.pk, counted=on_hand, unit=unit, actor=SEED, reason="demo stock"
            )
    return {"ingredients": len(ingredients), "recipes": len(RECIPES) + len(OPTION_RECIPES)}
