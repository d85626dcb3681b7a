"""The pantry in admin: ingredients and their ledger, recipes inline with items and options."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse

from accounts.roles import Actor
from menu.pantry.models import (
    Ingredient,
    MovementKind,
    OptionRecipeLine,
    RecipeLine,
    StockMovement,
    Unit,
)
from menu.pantry.services import stock_count, stock_deliver, stock_waste
from restaurant.errors import ApplicationError


class RecipeLineInline(admin.TabularInline):
    model = RecipeLine
    extra = 1
    autocomplete_fields = ("ingredient",)
    fields = ("ingredient", "quantity")
    verbose_name = "ingredient in one portion"
    verbose_name_plural = "recipe (one portion)"


class OptionRecipeLineInline(admin.TabularInline):
    model = OptionRecipeLine
    extra = 1
    autocomplete_fields = ("ingredient",)
    fields = ("ingredient", "effect", "quantity")
    verbose_name_plural = "recipe change when chosen (one portion)"


QUANTITY_LABELS: dict[str, str] = {
    MovementKind.DELIVERY: "Quantity delivered",
    MovementKind.WASTE: "Quantity thrown away",
    MovementKind.COUNT_CORRECTION: "Quantity counted",
}
REASON_HELP: dict[str, str] = {
    MovementKind.DELIVERY: "Supplier or delivery note (optional).",
    MovementKind.WASTE: "Why it was thrown away.",
    MovementKind.COUNT_CORRECTION: "Optional: who counted, anything found.",
}


class StockMovementForm(forms.Form):
    """A delivery, waste or count as a manager types it; the service checks sign, size and unit."""

    quantity = forms.DecimalField()
    unit = forms.ChoiceField(choices=Unit.choices)
    reason = forms.CharField(max_length=500, required=False)
    # One-time: the same form sent twice records one movement (StockMovement.idempotency_key).
    token = forms.UUIDField(widget=forms.HiddenInput)

    def __init__(self, *args: Any, kind: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["quantity"].label = QUANTITY_LABELS[kind]
        self.fields["reason"].required = kind == MovementKind.WASTE
        self.fields["reason"].help_text = REASON_HELP[kind]


StockService = Callable[..., tuple[StockMovement, bool]]


def _record(
    kind: str, ingredient: Ingredient, data: dict[str, Any], actor: Actor
) -> tuple[StockMovement, bool]:
    common = {
        "ingredient_id": ingredient.pk,
        "unit": data["unit"],
        "actor": actor,
        "reason": data["reason"],
        "idempotency_key": f"admin-{data['token']}",
    }
    if kind == MovementKind.COUNT_CORRECTION:
        return stock_count(counted=data["quantity"], **common)
    service: StockService = stock_deliver if kind == MovementKind.DELIVERY else stock_waste
    return service(quantity=data["quantity"], **common)


def _form_field(form: forms.Form, error: ApplicationError) -> str | None:
    """The form field a service's error is about (its data names it), or None for the whole form."""
    field = "quantity" if error.data.get("field") == "counted" else error.data.get("field")
    return field if field in form.fields else None


@admin.register(Ingredient)
class IngredientAdmin(admin.ModelAdmin):
    list_display = ("name", "unit", "on_hand", "reserved", "available", "reorder_point", "par_level")
    search_fields = ("name",)
    list_filter = ("unit",)
    # Levels move only by stock movements (deliveries, waste, counts, orders), never by typing.
    readonly_fields = ("on_hand", "reserved", "available", "updated_at")
    fields = ("name", "unit", "par_level", "reorder_point", "on_hand", "reserved", "available", "updated_at")
    actions = ("record_delivery", "record_waste", "record_count")

    @admin.display(description="available")
    def available(self, ingredient: Ingredient) -> str:
        return str(ingredient.available)

    @admin.action(description="Record a delivery…", permissions=["change"])
    def record_delivery(self, request: HttpRequest, queryset: QuerySet[Ingredient]) -> HttpResponse | None:
        return self._movement_form(request, queryset, MovementKind.DELIVERY, "record_delivery")

    @admin.action(description="Record waste…", permissions=["change"])
    def record_waste(self, request: HttpRequest, queryset: QuerySet[Ingredient]) -> HttpResponse | None:
        return self._movement_form(request, queryset, MovementKind.WASTE, "record_waste")

    @admin.action(description="Record a stock count…", permissions=["change"])
    def record_count(self, request: HttpRequest, queryset: QuerySet[Ingredient]) -> HttpResponse | None:
        return self._movement_form(request, queryset, MovementKind.COUNT_CORRECTION, "record_count")

    def _report(
        self, request: HttpRequest, ingredient: Ingredient, movement: StockMovement, *, created: bool
    ) -> None:
        ingredient.refresh_from_db()
        if created:
            done, level = f"{movement.get_kind_display()} of {ingredient.name} recorded", messages.SUCCESS
        else:
            done, level = (
                f"This form was sent before: {ingredient.name} was not changed again",
                messages.WARNING,
            )
        levels = f"on hand {ingredient.on_hand} {ingredient.unit}, available {ingredient.available}"
        self.message_user(request, f"{done}; {levels}.", level)

    def _movement_form(
        self, request: HttpRequest, queryset: QuerySet[Ingredient], kind: str, action: str
    ) -> HttpResponse | None:
        if queryset.count() != 1:
            self.message_user(request, "Record stock for one ingredient at a time.", messages.ERROR)
            return None
        ingredient = queryset.get()
        form = StockMovementForm(request.POST if "apply" in request.POST else None, kind=kind)
        status = 200
        if form.is_valid():
            try:
                movement, created = _record(kind, ingredient, form.cleaned_data, Actor.for_user(request.user))
            except ApplicationError as error:
                form.add_error(_form_field(form, error), error.message)
            else:
                self._report(request, ingredient, movement, created=created)
                return None
        if form.is_bound:
            status = 400
        else:
            form = StockMovementForm(initial={"unit": ingredient.unit, "token": uuid.uuid4()}, kind=kind)
        context = {
            **self.admin_site.each_context(request),
            "title": f"{MovementKind(kind).label}: {ingredient.name}",
            "ingredient": ingredient,
            "kind": kind,
            "form": form,
            "action": action,
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "admin/menu/ingredient/stock_movement.html", context, status=status)


@admin.register(StockMovement)
class StockMovementAdmin(admin.ModelAdmin):
    list_display = (
        "created_at",
        "ingredient",
        "kind",
        "on_hand_change",
        "reserved_change",
        "order_id",
        "actor_label",
        "reason",
    )
    list_filter = ("kind", "ingredient")
    search_fields = ("ingredient__name", "reason", "actor_label", "=order_id")
    list_select_related = ("ingredient",)
    date_hierarchy = "created_at"

    def get_queryset(self, request: HttpRequest) -> QuerySet[StockMovement]:
        return super().get_queryset(request).select_related("ingredient")

    # The ledger is history: written by the pantry's services only.
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False
