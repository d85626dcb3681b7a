from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from menu.models import (
    Allergen,
    Category,
    DietaryTag,
    MenuItem,
    MenuItemModifierGroup,
    ModifierGroup,
    ModifierOption,
)
from menu.money import format_money
from menu.pantry.admin import OptionRecipeLineInline, RecipeLineInline
from menu.services import menu_items_set_availability


class ModifierOptionInline(admin.TabularInline):
    model = ModifierOption
    extra = 3
    fields = ("name", "price_delta_minor", "is_available", "sort_order")
    # An option's recipe change is edited on the option's own page (inlines do not nest).
    show_change_link = True


@admin.register(ModifierGroup)
class ModifierGroupAdmin(admin.ModelAdmin):
    list_display = ("__str__", "min_choices", "max_choices", "option_names")
    search_fields = ("name", "internal_name", "options__name")
    inlines = [ModifierOptionInline]

    def get_queryset(self, request: HttpRequest) -> QuerySet[ModifierGroup]:
        return super().get_queryset(request).prefetch_related("options")

    @admin.display(description="options")
    def option_names(self, group: ModifierGroup) -> str:
        return ", ".join(option.name for option in group.options.all())


@admin.register(ModifierOption)
class ModifierOptionAdmin(admin.ModelAdmin):
    list_display = ("__str__", "price_delta_minor", "is_available")
    list_select_related = ("group",)
    search_fields = ("name", "group__name", "group__internal_name")
    fields = ("group", "name", "price_delta_minor", "is_available", "sort_order")
    inlines = [OptionRecipeLineInline]


class MenuItemModifierGroupInline(admin.TabularInline):
    model = MenuItemModifierGroup
    extra = 1
    autocomplete_fields = ("group",)
    fields = ("group", "sort_order")


@admin.register(MenuItem)
class MenuItemAdmin(admin.ModelAdmin):
    list_display = ("name", "category", "price", "is_available", "is_listed", "sort_order")
    list_editable = ("is_available", "sort_order")
    list_filter = ("category", "is_available", "is_listed", "dietary_tags", "allergens")
    search_fields = ("name", "description")
    prepopulated_fields = {"slug": ("name",)}
    filter_horizontal = ("allergens", "dietary_tags")
    list_select_related = ("category",)
    inlines = [MenuItemModifierGroupInline, RecipeLineInline]
    actions = ("mark_sold_out", "mark_back_on")
    fieldsets = (
        (None, {"fields": ("category", "name", "slug", "description", "price_minor", "image")}),
        ("Availability", {"fields": ("is_available", "is_listed", "sort_order")}),
        ("Allergens and dietary", {"fields": ("allergens", "dietary_tags")}),
    )

    @admin.display(description="price", ordering="price_minor")
    def price(self, item: MenuItem) -> str:
        return format_money(item.price_minor)

    @admin.action(description="86: mark selected items sold out")
    def mark_sold_out(self, request: HttpRequest, queryset: QuerySet[MenuItem]) -> None:
        changed = menu_items_set_availability(
            item_ids=list(queryset.values_list("pk", flat=True)), available=False
        )
        self.message_user(request, f"{changed} item(s) marked sold out.", messages.SUCCESS)

    @admin.action(description="Back on: mark selected items available")
    def mark_back_on(self, request: HttpRequest, queryset: QuerySet[MenuItem]) -> None:
        changed = menu_items_set_availability(
            item_ids=list(queryset.values_list("pk", flat=True)), available=True
        )
        self.message_user(request, f"{changed} item(s) back on the menu.", messages.SUCCESS)


@admin.register(Category)
class CategoryAdmin(admin.ModelAdmin):
    list_display = ("name", "sort_order", "is_active")
    list_editable = ("sort_order", "is_active")
    prepopulated_fields = {"slug": ("name",)}
    search_fields = ("name",)


@admin.register(Allergen, DietaryTag)
class ReferenceAdmin(admin.ModelAdmin):
    list_display = ("name", "code")
    search_fields = ("name", "code")
