"""Seed the Brigade demo restaurant: menu, modifier groups, role groups and demo accounts.

Everything is keyed on stable slugs, codes, names and emails and written with
update_or_create/get_or_create inside one transaction, so the command is safe to run
repeatedly: a second run converges on the same data instead of duplicating it.

    python manage.py seed_demo
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, TypedDict, TypeVar

from allauth.account.models import EmailAddress
from django.conf import settings
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils.text import slugify

from accounts.models import User
from accounts.role_groups import role_groups_sync
from accounts.roles import GROUP_ROLES, Role
from menu.models import (
    Allergen,
    Category,
    DietaryTag,
    MenuItem,
    MenuItemModifierGroup,
    ModifierGroup,
    ModifierOption,
)
from menu.pantry.demo import pantry_seed

CodedT = TypeVar("CodedT", Allergen, DietaryTag)


class DemoUser(TypedDict):
    role: str
    email: str
    password: str


# Demo sign-ins, importable so other code (docs, a banner, the README) can print them.
DEMO_USERS: list[DemoUser] = [
    {"role": Role.CUSTOMER.value, "email": "customer@brigade.example", "password": "brigade-customer"},
    {"role": Role.WAITER.value, "email": "waiter@brigade.example", "password": "brigade-waiter"},
    {"role": Role.CHEF.value, "email": "chef@brigade.example", "password": "brigade-chef"},
    {"role": Role.MANAGER.value, "email": "manager@brigade.example", "password": "brigade-manager"},
]

_USER_NAMES: dict[str, tuple[str, str]] = {
    Role.CUSTOMER.value: ("Casey", "Customer"),
    Role.WAITER.value: ("Wes", "Waiter"),
    Role.CHEF.value: ("Charlie", "Chef"),
    Role.MANAGER.value: ("Morgan", "Manager"),
}

# EU FIC 1169/2011 Annex II, in the order the regulation lists them.
ALLERGENS: list[tuple[str, str]] = [
    ("gluten", "Cereals containing gluten"),
    ("crustaceans", "Crustaceans"),
    ("eggs", "Eggs"),
    ("fish", "Fish"),
    ("peanuts", "Peanuts"),
    ("soybeans", "Soybeans"),
    ("milk", "Milk"),
    ("nuts", "Nuts"),
    ("celery", "Celery"),
    ("mustard", "Mustard"),
    ("sesame", "Sesame seeds"),
    ("sulphites", "Sulphur dioxide and sulphites"),
    ("lupin", "Lupin"),
    ("molluscs", "Molluscs"),
]

DIETARY_TAGS: list[tuple[str, str]] = [
    ("vegan", "Vegan"),
    ("vegetarian", "Vegetarian"),
    ("gluten-free", "Gluten-free"),
    ("spicy", "Spicy"),
    ("dairy-free", "Dairy-free"),
]


@dataclass(frozen=True)
class GroupSpec:
    key: str
    name: str
    internal_name: str
    min_choices: int
    max_choices: int
    options: tuple[tuple[str, int], ...]  # (name, price_delta_minor)


MODIFIER_GROUPS: list[GroupSpec] = [
    GroupSpec(
        "cooking",
        "Cooking",
        "steak & burger doneness",
        1,
        1,
        (("Rare", 0), ("Medium rare", 0), ("Medium", 0), ("Well done", 0)),
    ),
    GroupSpec(
        "extras",
        "Extras",
        "burger extras",
        0,
        3,
        (("Bacon", 200), ("Cheddar", 150), ("Avocado", 250), ("Fried egg", 150), ("Jalapeños", 100)),
    ),
    GroupSpec(
        "side",
        "Side",
        "main side",
        1,
        1,
        (("Fries", 0), ("Side salad", 0), ("Sweet potato fries", 150)),
    ),
    GroupSpec("size", "Size", "drink size", 1, 1, (("Regular", 0), ("Large", 100))),
    GroupSpec(
        "dressing",
        "Dressing",
        "salad dressing",
        0,
        1,
        (("Caesar", 0), ("Balsamic vinaigrette", 0), ("Lemon & olive oil", 0), ("Ranch", 0)),
    ),
    GroupSpec(
        "toppings",
        "Toppings",
        "dessert toppings",
        0,
        2,
        (("Whipped cream", 50), ("Chocolate sauce", 50), ("Berries", 100)),
    ),
]


@dataclass(frozen=True)
class ItemSpec:
    name: str
    description: str
    price_minor: int
    allergens: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    groups: tuple[str, ...] = ()  # GroupSpec keys, in the order the guest sees them
    is_available: bool = True
    is_special: bool = False  # a VIP special: shown where the flag vip_specials is on

    @property
    def slug(self) -> str:
        return slugify(self.name)


@dataclass(frozen=True)
class CategorySpec:
    name: str
    slug: str
    description: str
    items: list[ItemSpec] = field(default_factory=list)


BURGER_GROUPS = ("cooking", "side", "extras")

MENU: list[CategorySpec] = [
    CategorySpec(
        "Starters",
        "starters",
        "Small plates to share, or not.",
        [
            ItemSpec(
                "Garlic Bread",
                "Toasted sourdough with garlic butter and parsley.",
                450,
                ("gluten", "milk"),
                ("vegetarian",),
            ),
            ItemSpec(
                "Tomato Bruschetta",
                "Grilled bread, vine tomatoes, basil and extra virgin olive oil.",
                650,
                ("gluten",),
                ("vegan", "vegetarian", "dairy-free"),
            ),
            ItemSpec(
                "Crispy Calamari",
                "Lightly floured squid rings with lemon aioli.",
                850,
                ("molluscs", "gluten", "eggs"),
            ),
            ItemSpec(
                "Buffalo Chicken Wings",
                "Six wings tossed in hot sauce, with celery and blue cheese dip.",
                890,
                ("celery", "milk"),
                ("spicy", "gluten-free"),
            ),
            ItemSpec(
                "Soup of the Day",
                "Ask your waiter; always made in house, served with bread.",
                590,
                ("celery", "gluten", "milk"),
                ("vegetarian",),
            ),
        ],
    ),
    CategorySpec(
        "Salads",
        "salads",
        "Big bowls, dressed to order.",
        [
            ItemSpec(
                "Caesar Salad",
                "Romaine, parmesan, croutons and anchovies.",
                1150,
                ("gluten", "eggs", "fish", "milk"),
                groups=("dressing",),
            ),
            ItemSpec(
                "Greek Salad",
                "Tomato, cucumber, red onion, olives and feta.",
                1050,
                ("milk",),
                ("vegetarian", "gluten-free"),
                groups=("dressing",),
            ),
            ItemSpec(
                "Quinoa & Avocado Bowl",
                "Quinoa, avocado, edamame, pickled carrot and toasted sesame.",
                1250,
                ("soybeans", "sesame"),
                ("vegan", "vegetarian", "gluten-free", "dairy-free"),
                groups=("dressing",),
            ),
        ],
    ),
    CategorySpec(
        "Burgers & Grills",
        "burgers-grills",
        "Beef from a local farm, grilled to your liking.",
        [
            ItemSpec(
                "Classic Burger",
                "Beef patty, lettuce, tomato, pickles and house sauce in a brioche bun.",
                1350,
                ("gluten", "eggs", "milk", "mustard", "sesame"),
                groups=BURGER_GROUPS,
            ),
            ItemSpec(
                "Bacon Cheeseburger",
                "Beef patty, smoked bacon, double cheddar and onion jam.",
                1550,
                ("gluten", "eggs", "milk", "mustard", "sesame"),
                groups=BURGER_GROUPS,
            ),
            ItemSpec(
                "Double Smash Burger",
                "Two thin smashed patties, American cheese, onions and pickles.",
                1650,
                ("gluten", "eggs", "milk", "mustard", "sesame"),
                groups=BURGER_GROUPS,
            ),
            ItemSpec(
                "BBQ Burger",
                "Beef patty, smoky barbecue sauce, crispy onions and cheddar.",
                1550,
                ("gluten", "milk", "mustard", "sesame", "celery"),
                groups=BURGER_GROUPS,
            ),
            ItemSpec(
                "Crispy Chicken Sandwich",
                "Buttermilk fried chicken, hot honey, slaw and pickles.",
                1350,
                ("gluten", "eggs", "milk", "mustard"),
                ("spicy",),
                groups=("side", "extras"),
            ),
            ItemSpec(
                "Truffle Wagyu Burger",
                "Wagyu patty, black truffle mayo, aged comté and caramelised shallots.",
                2450,
                ("gluten", "eggs", "milk", "mustard", "sesame"),
                groups=BURGER_GROUPS,
                is_special=True,
            ),
            ItemSpec(
                "Ribeye Steak",
                "300 g dry-aged ribeye with herb butter and roasted garlic.",
                2650,
                ("milk",),
                ("gluten-free",),
                groups=("cooking", "side"),
            ),
        ],
    ),
    CategorySpec(
        "Pizzas",
        "pizzas",
        "Stone-baked, 30 cm.",
        [
            ItemSpec(
                "Margherita Pizza",
                "Tomato, fior di latte and fresh basil.",
                1100,
                ("gluten", "milk"),
                ("vegetarian",),
            ),
            ItemSpec(
                "Pepperoni Pizza",
                "Tomato, mozzarella and spicy pepperoni.",
                1300,
                ("gluten", "milk"),
                ("spicy",),
            ),
            ItemSpec(
                "Garden Vegetable Pizza",
                "Tomato, mozzarella, peppers, courgette, red onion and olives.",
                1250,
                ("gluten", "milk"),
                ("vegetarian",),
            ),
        ],
    ),
    CategorySpec(
        "Mains",
        "mains",
        "Hearty plates from the kitchen.",
        [
            ItemSpec(
                "Lobster Roll",
                "Chilled lobster in lemon mayo on a toasted buttered roll.",
                2400,
                ("crustaceans", "gluten", "eggs", "milk"),
                is_available=False,  # 86ed in the demo, so the menu shows "sold out"
            ),
            ItemSpec(
                "Fish & Chips",
                "Beer-battered cod, chunky chips, mushy peas and tartare sauce.",
                1650,
                ("fish", "gluten", "eggs", "mustard"),
            ),
            ItemSpec(
                "Grilled Salmon",
                "Salmon fillet with lemon butter and charred broccolini.",
                1950,
                ("fish", "milk"),
                ("gluten-free",),
                groups=("side",),
            ),
            ItemSpec(
                "Chicken Schnitzel",
                "Golden breaded chicken breast with lemon and caper butter.",
                1590,
                ("gluten", "eggs", "milk"),
                groups=("side",),
            ),
            ItemSpec(
                "Mushroom Risotto",
                "Arborio rice, wild mushrooms, parmesan and truffle oil.",
                1450,
                ("milk", "celery", "sulphites"),
                ("vegetarian", "gluten-free"),
            ),
            ItemSpec(
                "Vegetable Green Curry",
                "Seasonal vegetables and tofu in green curry with jasmine rice.",
                1490,
                ("soybeans", "celery"),
                ("vegan", "vegetarian", "gluten-free", "dairy-free", "spicy"),
            ),
        ],
    ),
    CategorySpec(
        "Sides",
        "sides",
        "To go with anything.",
        [
            ItemSpec(
                "Fries",
                "Skin-on fries with sea salt.",
                450,
                (),
                ("vegan", "vegetarian", "dairy-free"),
            ),
            ItemSpec(
                "Sweet Potato Fries",
                "With smoked paprika mayo.",
                550,
                ("eggs",),
                ("vegetarian", "gluten-free"),
            ),
            ItemSpec(
                "Onion Rings",
                "Beer-battered, with chipotle dip.",
                500,
                ("gluten", "eggs", "milk"),
                ("vegetarian",),
            ),
            ItemSpec(
                "Side Salad",
                "Mixed leaves, cucumber and mustard vinaigrette.",
                450,
                ("mustard",),
                ("vegan", "vegetarian", "gluten-free", "dairy-free"),
            ),
        ],
    ),
    CategorySpec(
        "Desserts",
        "desserts",
        "Save some room.",
        [
            ItemSpec(
                "Chocolate Brownie",
                "Warm fudgy brownie with walnuts and vanilla ice cream.",
                750,
                ("gluten", "eggs", "milk", "nuts"),
                ("vegetarian",),
                groups=("toppings",),
            ),
            ItemSpec(
                "New York Cheesecake",
                "Baked vanilla cheesecake on a biscuit base.",
                790,
                ("gluten", "eggs", "milk"),
                ("vegetarian",),
                groups=("toppings",),
            ),
            ItemSpec(
                "Sticky Toffee Pudding",
                "Date sponge, toffee sauce and clotted cream.",
                750,
                ("gluten", "eggs", "milk"),
                ("vegetarian",),
                groups=("toppings",),
            ),
            ItemSpec(
                "Vanilla Ice Cream",
                "Three scoops of Madagascan vanilla.",
                600,
                ("eggs", "milk"),
                ("vegetarian", "gluten-free"),
                groups=("toppings",),
            ),
            ItemSpec(
                "Champagne & Raspberry Sorbet",
                "Two scoops, finished at the table with a splash of brut.",
                950,
                ("sulphites",),
                ("vegan", "vegetarian", "gluten-free", "dairy-free"),
                is_special=True,
            ),
            ItemSpec(
                "Mango Sorbet",
                "Two scoops, made with Alphonso mango.",
                600,
                (),
                ("vegan", "vegetarian", "gluten-free", "dairy-free"),
                groups=("toppings",),
            ),
        ],
    ),
    CategorySpec(
        "Drinks",
        "drinks",
        "Soft drinks, coffee, beer and wine.",
        [
            ItemSpec(
                "Lemonade",
                "House-made with fresh lemons and mint.",
                400,
                (),
                ("vegan", "vegetarian", "gluten-free", "dairy-free"),
                groups=("size",),
            ),
            ItemSpec(
                "Cola",
                "Ice-cold, with a slice of lemon.",
                350,
                (),
                ("vegan", "vegetarian", "gluten-free", "dairy-free"),
                groups=("size",),
            ),
            ItemSpec(
                "Iced Tea",
                "Brewed black tea with peach.",
                380,
                (),
                ("vegan", "vegetarian", "gluten-free", "dairy-free"),
                groups=("size",),
            ),
            ItemSpec(
                "Sparkling Water",
                "Chilled mineral water.",
                300,
                (),
                ("vegan", "vegetarian", "gluten-free", "dairy-free"),
                groups=("size",),
            ),
            ItemSpec(
                "Espresso",
                "A double shot of our house blend.",
                250,
                (),
                ("vegan", "vegetarian", "gluten-free", "dairy-free"),
            ),
            ItemSpec(
                "Craft Lager",
                "Local pale lager, 330 ml.",
                600,
                ("gluten",),
                ("vegan", "vegetarian", "dairy-free"),
            ),
            ItemSpec(
                "House Red Wine",
                "A glass of Tempranillo, 175 ml.",
                650,
                ("sulphites",),
                ("vegan", "vegetarian", "gluten-free", "dairy-free"),
            ),
        ],
    ),
]


class Command(BaseCommand):
    help = "Create or refresh the Brigade demo restaurant (menu, role groups, demo users). Idempotent."

    def handle(self, *args: Any, **options: Any) -> None:
        if settings.PRODUCTION:
            # The demo accounts' passwords are printed in the README and the
            # banner: in a real restaurant they would be anyone's way in.
            raise CommandError(
                "seed_demo makes accounts with published passwords; it never runs in production."
            )
        with transaction.atomic():
            allergens = self._seed_codes(Allergen, ALLERGENS)
            tags = self._seed_codes(DietaryTag, DIETARY_TAGS)
            groups = self._seed_modifier_groups()
            self._seed_menu(allergens, tags, groups)
            pantry = pantry_seed()
            self._seed_roles_and_users()

        sold_out = MenuItem.objects.filter(is_available=False).count()
        self.stdout.write(
            self.style.SUCCESS(
                "Demo restaurant ready: "
                f"{Allergen.objects.count()} allergens, "
                f"{DietaryTag.objects.count()} dietary tags, "
                f"{Category.objects.count()} categories, "
                f"{MenuItem.objects.count()} items ({sold_out} sold out, "
                f"{MenuItem.objects.filter(is_special=True).count()} VIP specials), "
                f"{ModifierGroup.objects.count()} modifier groups, "
                f"{ModifierOption.objects.count()} options, "
                f"{MenuItemModifierGroup.objects.count()} item-group links, "
                f"{pantry['ingredients']} ingredients in {pantry['recipes']} recipes, "
                f"{User.objects.filter(email__in=[u['email'] for u in DEMO_USERS]).count()} demo users."
            )
        )

    # -- menu --------------------------------------------------------------------------------------

    def _seed_codes(self, model: type[CodedT], rows: list[tuple[str, str]]) -> dict[str, CodedT]:
        seeded: dict[str, CodedT] = {}
        for code, name in rows:
            obj, _ = model.objects.update_or_create(code=code, defaults={"name": name})
            seeded[code] = obj
        return seeded

    def _seed_modifier_groups(self) -> dict[str, ModifierGroup]:
        seeded: dict[str, ModifierGroup] = {}
        for spec in MODIFIER_GROUPS:
            group, _ = ModifierGroup.objects.update_or_create(
                name=spec.name,
                internal_name=spec.internal_name,
                defaults={"min_choices": spec.min_choices, "max_choices": spec.max_choices},
            )
            for position, (option_name, delta) in enumerate(spec.options, start=1):
                ModifierOption.objects.update_or_create(
                    group=group,
                    name=option_name,
                    defaults={
                        "price_delta_minor": delta,
                        "sort_order": position * 10,
                        "is_available": True,
                    },
                )
            seeded[spec.key] = group
        return seeded

    def _seed_menu(
        self,
        allergens: dict[str, Allergen],
        tags: dict[str, DietaryTag],
        groups: dict[str, ModifierGroup],
    ) -> None:
        for cat_position, cat_spec in enumerate(MENU, start=1):
            category, _ = Category.objects.update_or_create(
                slug=cat_spec.slug,
                defaults={
                    "name": cat_spec.name,
                    "description": cat_spec.description,
                    "sort_order": cat_position * 10,
                    "is_active": True,
                },
            )
            for item_position, spec in enumerate(cat_spec.items, start=1):
                item, _ = MenuItem.objects.update_or_create(
                    slug=spec.slug,
                    defaults={
                        "category": category,
                        "name": spec.name,
                        "description": spec.description,
                        "price_minor": spec.price_minor,
                        "is_available": spec.is_available,
                        "is_special": spec.is_special,
                        "is_listed": True,
                        "sort_order": item_position * 10,
                    },
                )
                item.allergens.set([allergens[code] for code in spec.allergens])
                item.dietary_tags.set([tags[code] for code in spec.tags])

                wanted = [groups[key] for key in spec.groups]
                for link_position, group in enumerate(wanted, start=1):
                    MenuItemModifierGroup.objects.update_or_create(
                        item=item, group=group, defaults={"sort_order": link_position * 10}
                    )
                # Drop links a previous seed (or an admin edit) left on a demo item.
                item.item_groups.exclude(group__in=wanted).delete()

    # -- people ------------------------------------------------------------------------------------

    def _seed_roles_and_users(self) -> None:
        role_groups_sync()
        role_groups = {group.name: group for group in Group.objects.filter(name__in=GROUP_ROLES)}

        for demo in DEMO_USERS:
            first_name, last_name = _USER_NAMES[demo["role"]]
            user, _ = User.objects.update_or_create(
                email=demo["email"],
                defaults={
                    "username": demo["email"].split("@", 1)[0],
                    "first_name": first_name,
                    "last_name": last_name,
                    "is_active": True,
                    "is_staff": demo["role"] == Role.MANAGER.value,
                    "is_superuser": False,
                },
            )
            user.set_password(demo["password"])
            user.save(update_fields=["password"])
            user.groups.set([role_groups[demo["role"]]])
            EmailAddress.objects.update_or_create(
                user=user, email=demo["email"], defaults={"verified": True, "primary": True}
            )
