from __future__ import annotations

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.http import HttpRequest

from accounts.models import Address, User


class AddressInline(admin.TabularInline):
    """Shown for reference; customers keep their addresses on their account
    page, whose services hold the one-default and ten-address rules."""

    model = Address
    extra = 0
    fields = ("label", "street", "city", "postcode", "instructions", "is_default")
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: User | None = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: User | None = None) -> bool:
        return False


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    list_display = ("email", "first_name", "last_name", "is_vip", "roles", "is_staff", "is_active")
    list_filter = ("is_vip", "groups", "is_staff", "is_active")
    list_editable = ("is_vip",)
    search_fields = ("email", "username", "first_name", "last_name", "phone")
    ordering = ("email",)
    inlines = [AddressInline]
    fieldsets = (
        (None, {"fields": ("email", "username", "password")}),
        ("Person", {"fields": ("first_name", "last_name", "phone")}),
        ("Customer", {"fields": ("is_vip",)}),
        (
            "Roles and access",
            {
                "fields": ("groups", "is_active", "is_staff", "is_superuser", "user_permissions"),
                "description": "Roles are the groups customer, waiter, chef and manager. Managers also need "
                "“staff” ticked to open admin.",
            },
        ),
        ("Dates", {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = (
        (None, {"classes": ("wide",), "fields": ("email", "username", "password1", "password2")}),
    )

    def get_queryset(self, request: HttpRequest):  # type: ignore[no-untyped-def]
        return super().get_queryset(request).prefetch_related("groups")

    @admin.display(description="roles")
    def roles(self, user: User) -> str:
        return ", ".join(sorted(group.name for group in user.groups.all()))

    def get_readonly_fields(self, request: HttpRequest, obj: User | None = None) -> tuple[str, ...]:
        readonly = ("last_login", "date_joined")
        if not request.user.is_superuser:
            # What a manager may grant ends at the roles: superuser and raw
            # permissions would let anyone sidestep the permission matrix.
            readonly += ("is_superuser", "user_permissions")
        return readonly
