from __future__ import annotations

import factory
from django.contrib.auth.models import Group

from accounts.models import User
from menu.models import (
    Category,
    Ingredient,
    MenuItem,
    MenuItemModifierGroup,
    ModifierGroup,
    ModifierOption,
    Unit,
)
from orders.coupons.models import Coupon, CouponKind
from orders.floor.models import Table


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.test")
    first_name = "Sam"
    last_name = "Diner"
    password = factory.PostGenerationMethodCall("set_password", "correct-horse-battery")

    @factory.post_generation
    def role(self, create: bool, extracted: str | None, **kwargs: object) -> None:
        if extracted:
            self.groups.add(Group.objects.get_or_create(name=extracted)[0])
            if extracted == "manager":
                self.is_staff = True
        self.save()


class CategoryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Category

    name = factory.Sequence(lambda n: f"Category {n}")
    slug = factory.Sequence(lambda n: f"category-{n}")


class MenuItemFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = MenuItem

    category = factory.SubFactory(CategoryFactory)
    name = factory.Sequence(lambda n: f"Dish {n}")
    slug = factory.Sequence(lambda n: f"dish-{n}")
    price_minor = 1000


class ModifierGroupFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ModifierGroup

    name = factory.Sequence(lambda n: f"Group {n}")
    min_choices = 0
    max_choices = 1


class ModifierOptionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ModifierOption

    group = factory.SubFactory(ModifierGroupFactory)
    name = factory.Sequence(lambda n: f"Option {n}")
    price_delta_minor = 0


def attach(item: MenuItem, *groups: ModifierGroup) -> None:
    for order, group in enumerate(groups):
        MenuItemModifierGroup.objects.create(item=item, group=group, sort_order=order)


class IngredientFactory(factory.django.DjangoModelFactory):
    """An empty ingredient: stock arrives by a delivery (menu.pantry.services), as in the kitchen."""

    class Meta:
        model = Ingredient

    name = factory.Sequence(lambda n: f"Ingredient {n}")
    unit = Unit.PIECE
    par_level = 100
    reorder_point = 10


class CouponFactory(factory.django.DjangoModelFactory):
    """10% off, no minimum, no limits, on: each test sets the rule it is about."""

    class Meta:
        model = Coupon

    code = factory.Sequence(lambda n: f"CODE{n}")
    kind = CouponKind.PERCENT
    value = 10


class TableFactory(factory.django.DjangoModelFactory):
    """A table in service; asking for a label that is in service already gives that table."""

    class Meta:
        model = Table
        django_get_or_create = ("label",)

    label = factory.Sequence(lambda n: str(n + 1))
    area = "Ground floor"
