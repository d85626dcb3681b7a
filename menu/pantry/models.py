"""The pantry: ingredients, the recipes that use them, and the ledger of every change to their stock.

An ingredient holds two levels: `on_hand`, what is physically in the
kitchen, and `reserved`, what placed orders that are not cooked yet will take.
What the menu can still sell is `on_hand - reserved`. Neither level is ever
written except together with a StockMovement in the same transaction
(menu.pantry.services), so the sum of an ingredient's movements is always its
levels.

Today the ingredient rows are the one location's pantry; a second location
adds a location key to Ingredient (default: the first), not a new design.
"""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone

from menu.models import MenuItem, ModifierOption

# Quantities are in the ingredient's unit with three decimals (0.5 of a lemon, 7.5 g of salt).
QUANTITY_DIGITS = 12
QUANTITY_PLACES = 3
# The most one delivery, waste, count or recipe line may name: a tonne in grams,
# a million pieces. Anything above is a typo (a barcode in the quantity box).
MAX_QUANTITY = Decimal("1000000")
SMALLEST_QUANTITY = Decimal("0.001")


def _quantity_field(verbose_name: str, **kwargs: object) -> models.DecimalField:
    return models.DecimalField(
        verbose_name,
        max_digits=QUANTITY_DIGITS,
        decimal_places=QUANTITY_PLACES,
        **kwargs,  # type: ignore[arg-type]
    )


class Unit(models.TextChoices):
    GRAM = "g", "grams (g)"
    MILLILITRE = "ml", "millilitres (ml)"
    PIECE = "piece", "pieces"


class Ingredient(models.Model):
    name = models.CharField(max_length=80, unique=True)
    unit = models.CharField(max_length=8, choices=Unit.choices)
    on_hand = _quantity_field(
        "on hand", default=Decimal(0), help_text="In the kitchen now. Changed only by stock movements."
    )
    reserved = _quantity_field(
        "reserved", default=Decimal(0), help_text="Held for placed orders not cooked yet."
    )
    par_level = _quantity_field(
        "par level",
        default=Decimal(0),
        validators=[MinValueValidator(Decimal(0)), MaxValueValidator(MAX_QUANTITY)],
        help_text="What a full pantry holds: the low-stock report orders up to this.",
    )
    reorder_point = _quantity_field(
        "reorder point",
        default=Decimal(0),
        validators=[MinValueValidator(Decimal(0)), MaxValueValidator(MAX_QUANTITY)],
        help_text="Below this on hand, the ingredient is on the low-stock report.",
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ("name",)
        constraints = [
            models.CheckConstraint(condition=Q(reserved__gte=0), name="ingredient_reserved_not_negative"),
            models.CheckConstraint(condition=Q(par_level__gte=0), name="ingredient_par_not_negative"),
            models.CheckConstraint(
                condition=Q(reorder_point__gte=0), name="ingredient_reorder_point_not_negative"
            ),
            models.CheckConstraint(
                condition=Q(reorder_point__lte=models.F("par_level")),
                name="ingredient_reorder_point_not_above_par",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.unit})"

    @property
    def available(self) -> Decimal:
        """What orders may still reserve. Below zero only after a count found less than was reserved."""
        return self.on_hand - self.reserved


class RecipeLine(models.Model):
    """How much of one ingredient one portion of a menu item takes."""

    item = models.ForeignKey(MenuItem, on_delete=models.CASCADE, related_name="recipe_lines")
    ingredient = models.ForeignKey(Ingredient, on_delete=models.PROTECT, related_name="item_recipe_lines")
    quantity = _quantity_field(
        "quantity", validators=[MinValueValidator(SMALLEST_QUANTITY), MaxValueValidator(MAX_QUANTITY)]
    )

    class Meta:
        ordering = ("ingredient__name",)
        verbose_name = "recipe line"
        constraints = [
            models.UniqueConstraint(fields=("item", "ingredient"), name="recipeline_unique_ingredient"),
            models.CheckConstraint(condition=Q(quantity__gt=0), name="recipeline_quantity_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.item}: {self.quantity} {self.ingredient.unit} {self.ingredient.name}"


class OptionEffect(models.TextChoices):
    # "Extra cheese": the option takes this much more of the ingredient.
    ADD = "add", "adds"
    # "No bun": the option leaves out this much of what the item's recipe takes (never below none).
    REMOVE = "remove", "removes"


class OptionRecipeLine(models.Model):
    """What choosing a modifier option changes in one portion's recipe."""

    option = models.ForeignKey(ModifierOption, on_delete=models.CASCADE, related_name="recipe_lines")
    ingredient = models.ForeignKey(Ingredient, on_delete=models.PROTECT, related_name="option_recipe_lines")
    effect = models.CharField(max_length=8, choices=OptionEffect.choices, default=OptionEffect.ADD)
    quantity = _quantity_field(
        "quantity", validators=[MinValueValidator(SMALLEST_QUANTITY), MaxValueValidator(MAX_QUANTITY)]
    )

    class Meta:
        ordering = ("ingredient__name",)
        verbose_name = "option recipe line"
        constraints = [
            models.UniqueConstraint(
                fields=("option", "ingredient"), name="optionrecipeline_unique_ingredient"
            ),
            models.CheckConstraint(condition=Q(quantity__gt=0), name="optionrecipeline_quantity_positive"),
        ]

    def __str__(self) -> str:
        change = f"{self.get_effect_display()} {self.quantity} {self.ingredient.unit}"
        return f"{self.option}: {change} {self.ingredient.name}"


class MovementKind(models.TextChoices):
    # Stock arrived from a supplier: on hand goes up.
    DELIVERY = "delivery", "Delivery"
    # Thrown away: spoiled, dropped, or cooked for an order refunded after cooking.
    WASTE = "waste", "Waste"
    # A stock count found a different quantity: on hand is set to what was counted.
    COUNT_CORRECTION = "count_correction", "Count correction"
    # A placed order holds what its recipes take, until it is cooked or ends.
    RESERVATION = "reservation", "Reservation"
    # An order ended uncooked (cancelled, declined, expired, refunded): its hold is given back.
    RELEASE = "release", "Release"
    # The order's cooking started: its hold leaves the pantry. A refund after cooking undoes
    # the use (on hand +) and records the same quantity as waste, so use counts only what was served.
    USE = "use", "Use"


class StockMovement(models.Model):
    """One change to an ingredient's levels. Rows are never edited or deleted.

    The two signed changes are what the movement did to `Ingredient.on_hand`
    and `Ingredient.reserved`; summing them over an ingredient's movements
    gives its levels. A reservation and a release move only `reserved`, a
    delivery, waste and count correction only `on_hand`, a use both.

    `order_id` is the number of the order a movement is for, a plain integer
    rather than a foreign key: menu sits below orders and must not import it
    (nor may its migrations depend on orders'), and the ledger is history that
    must outlive any order row. Orders query the ledger by it.
    """

    ingredient = models.ForeignKey(Ingredient, on_delete=models.PROTECT, related_name="movements")
    kind = models.CharField(max_length=20, choices=MovementKind.choices)
    on_hand_change = _quantity_field("on hand change", default=Decimal(0))
    reserved_change = _quantity_field("reserved change", default=Decimal(0))
    order_id = models.PositiveBigIntegerField("order number", null=True, blank=True, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    actor_label = models.CharField(max_length=150)
    reason = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    # A form's one-time token: the same delivery, waste or count sent twice is recorded once.
    idempotency_key = models.CharField(max_length=64, null=True, blank=True, unique=True)

    class Meta:
        ordering = ("-created_at", "-id")
        indexes = [
            models.Index(fields=("ingredient", "created_at"), name="stockmovement_ingredient_time"),
            models.Index(fields=("kind", "created_at"), name="stockmovement_kind_time"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=(
                    Q(kind=MovementKind.DELIVERY, on_hand_change__gt=0, reserved_change=0)
                    | Q(kind=MovementKind.WASTE, on_hand_change__lt=0, reserved_change=0)
                    | Q(kind=MovementKind.COUNT_CORRECTION, reserved_change=0)
                    | Q(kind=MovementKind.RESERVATION, on_hand_change=0, reserved_change__gt=0)
                    | Q(kind=MovementKind.RELEASE, on_hand_change=0, reserved_change__lt=0)
                    | Q(kind=MovementKind.USE, reserved_change__lte=0)
                ),
                name="stockmovement_changes_match_kind",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.ingredient.name}"

    @property
    def quantity(self) -> Decimal:
        """The movement's size as people read it: what it moved, signed as it moved on hand or reserved."""
        return self.on_hand_change if self.on_hand_change else self.reserved_change
