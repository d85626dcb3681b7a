"""The menu: what the restaurant sells and what a customer may choose.

Prices are integers in the minor unit of settings.BRIGADE_CURRENCY (cents for
EUR), so no sum ever rounds. Modifier groups ("Cooking", "Extras") are shared
between items, as on a real menu, and attached to each item in a chosen order.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.urls import reverse

MAX_PRICE_MINOR = 1_000_000  # 10,000.00 in a two-decimal currency: a typo guard.


class Allergen(models.Model):
    """One of the allergens a menu must declare (EU FIC 1169/2011 Annex II)."""

    code = models.SlugField(max_length=32, unique=True)
    name = models.CharField(max_length=64)

    class Meta:
        ordering = ("name",)

    def __str__(self) -> str:
        return self.name


class DietaryTag(models.Model):
    """A property a guest filters by: vegan, vegetarian, gluten-free…"""

    code = models.SlugField(max_length=32, unique=True)
    name = models.CharField(max_length=64)

    class Meta:
        ordering = ("name",)

    def __str__(self) -> str:
        return self.name


class Category(models.Model):
    name = models.CharField(max_length=80)
    slug = models.SlugField(max_length=80, unique=True)
    description = models.CharField(max_length=240, blank=True)
    sort_order = models.PositiveIntegerField(default=0)
    is_active = models.BooleanField("shown on the menu", default=True)

    class Meta:
        ordering = ("sort_order", "name")
        verbose_name_plural = "categories"

    def __str__(self) -> str:
        return self.name


class ModifierGroup(models.Model):
    """A choice on an item: "Cooking" (pick exactly 1), "Extras" (up to 3)."""

    name = models.CharField(max_length=80)
    internal_name = models.CharField(
        max_length=80,
        blank=True,
        help_text="Tells apart groups that share a public name, e.g. 'Extras (burgers)'.",
    )
    min_choices = models.PositiveSmallIntegerField(
        default=0, validators=[MaxValueValidator(20)], help_text="0 makes the group optional."
    )
    max_choices = models.PositiveSmallIntegerField(
        default=1, validators=[MinValueValidator(1), MaxValueValidator(20)]
    )

    class Meta:
        ordering = ("name", "internal_name")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(max_choices__gte=models.F("min_choices")),
                name="modifiergroup_max_not_below_min",
            ),
            models.CheckConstraint(
                condition=models.Q(max_choices__gte=1), name="modifiergroup_max_at_least_one"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.internal_name})" if self.internal_name else self.name

    def clean(self) -> None:
        if None not in (self.max_choices, self.min_choices) and self.max_choices < self.min_choices:
            raise ValidationError({"max_choices": "Must be at least the minimum."})

    @property
    def is_required(self) -> bool:
        return self.min_choices > 0

    @property
    def is_single_choice(self) -> bool:
        return self.max_choices == 1

    def rule_text(self) -> str:
        if self.min_choices == self.max_choices:
            return f"Choose {self.min_choices}"
        if self.min_choices == 0:
            return f"Optional, up to {self.max_choices}"
        return f"Choose {self.min_choices} to {self.max_choices}"


class ModifierOption(models.Model):
    group = models.ForeignKey(ModifierGroup, on_delete=models.CASCADE, related_name="options")
    name = models.CharField(max_length=80)
    price_delta_minor = models.IntegerField(
        "price change (minor units)",
        default=0,
        validators=[MinValueValidator(-MAX_PRICE_MINOR), MaxValueValidator(MAX_PRICE_MINOR)],
        help_text="Added to the item's price, in cents: 150 adds 1.50.",
    )
    is_available = models.BooleanField("available", default=True)
    sort_order = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ("sort_order", "id")
        constraints = [models.UniqueConstraint(fields=("group", "name"), name="modifieroption_unique_name")]

    def __str__(self) -> str:
        return f"{self.group.name}: {self.name}"


class MenuItemQuerySet(models.QuerySet["MenuItem"]):
    def on_menu(self) -> MenuItemQuerySet:
        """Items a customer sees, available or marked sold out."""
        return self.filter(is_listed=True, category__is_active=True)


class MenuItem(models.Model):
    category = models.ForeignKey(Category, on_delete=models.PROTECT, related_name="items")
    name = models.CharField(max_length=120)
    slug = models.SlugField(max_length=120, unique=True)
    description = models.TextField(max_length=1000, blank=True)
    price_minor = models.PositiveIntegerField(
        "price (minor units)",
        validators=[MaxValueValidator(MAX_PRICE_MINOR)],
        help_text="In cents: 1250 is 12.50.",
    )
    allergens = models.ManyToManyField(Allergen, blank=True, related_name="items")
    dietary_tags = models.ManyToManyField(DietaryTag, blank=True, related_name="items")
    image = models.ImageField(upload_to="menu/", blank=True)
    # "86" in kitchen talk: still listed, marked sold out, cannot be ordered.
    is_available = models.BooleanField(
        "available", default=True, help_text="Untick to 86 the item (shown as sold out)."
    )
    is_listed = models.BooleanField("listed on the menu", default=True)
    # Shown and orderable only where the waffle flag "vip_specials" is active
    # for the request (menu.specials): for everyone else it does not exist.
    is_special = models.BooleanField(
        "VIP special",
        default=False,
        help_text="Only visitors the 'vip_specials' flag is on for see and order it.",
    )
    sort_order = models.PositiveIntegerField(default=0)
    modifier_groups = models.ManyToManyField(
        ModifierGroup, through="MenuItemModifierGroup", blank=True, related_name="items"
    )
    updated_at = models.DateTimeField(auto_now=True)

    objects = MenuItemQuerySet.as_manager()

    class Meta:
        ordering = ("category__sort_order", "sort_order", "name")

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("menu:item", kwargs={"slug": self.slug})

    def can_be_ordered(self) -> bool:
        return self.is_available and self.is_listed and self.category.is_active


class MenuItemModifierGroup(models.Model):
    """Attaches a modifier group to an item, in the order the guest sees them."""

    item = models.ForeignKey(MenuItem, on_delete=models.CASCADE, related_name="item_groups")
    group = models.ForeignKey(ModifierGroup, on_delete=models.CASCADE, related_name="item_links")
    sort_order = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ("sort_order", "id")
        verbose_name = "modifier group"
        constraints = [models.UniqueConstraint(fields=("item", "group"), name="menuitemmodifiergroup_unique")]

    def __str__(self) -> str:
        return f"{self.item}: {self.group}"


# The pantry's models live in menu/pantry/; importing them here registers them
# with the app and keeps `menu.models.X` working for migrations and other apps.
from menu.pantry.models import (  # noqa: E402
    Ingredient,
    MovementKind,
    OptionEffect,
    OptionRecipeLine,
    RecipeLine,
    StockMovement,
    Unit,
)

__all__ = [
    "MAX_PRICE_MINOR",
    "Allergen",
    "Category",
    "DietaryTag",
    "Ingredient",
    "MenuItem",
    "MenuItemModifierGroup",
    "MenuItemQuerySet",
    "ModifierGroup",
    "ModifierOption",
    "MovementKind",
    "OptionEffect",
    "OptionRecipeLine",
    "RecipeLine",
    "StockMovement",
    "Unit",
]
