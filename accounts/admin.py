from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.db.models import ManyToManyField, QuerySet
from django.forms import ModelMultipleChoiceField
from django.http import Http404, HttpRequest

from accounts.models import Address, User
from accounts.selectors import groups_grantable_by, users_administrable_by


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
    """People in admin, each editor seeing only the accounts they may administer.

    accounts.selectors.users_administrable_by holds the rule; every page of
    this admin reads through get_queryset, so the list, search, the VIP
    column, bulk actions and the change, password and history pages all keep
    to it. The roles offered are the groups the editor may grant.
    """

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
                "“staff” ticked to open admin; only a superuser grants the manager role or “staff”.",
            },
        ),
        ("Dates", {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = (
        (None, {"classes": ("wide",), "fields": ("email", "username", "password1", "password2")}),
    )

    def get_queryset(self, request: HttpRequest) -> QuerySet[User]:
        administrable = users_administrable_by(editor=request.user)
        return (
            super().get_queryset(request).filter(pk__in=administrable.values("pk")).prefetch_related("groups")
        )

    def get_object(self, request: HttpRequest, object_id: str, from_field: str | None = None) -> User | None:
        user = super().get_object(request, object_id, from_field)
        if user is None:
            # An account out of the editor's reach answers as one that does not
            # exist, on every page that takes an id (change, password, history,
            # delete): a 404, never the form, and no hint that it is there.
            raise Http404("No such account.")
        return user

    def formfield_for_manytomany(
        self, db_field: ManyToManyField, request: HttpRequest, **kwargs: Any
    ) -> ModelMultipleChoiceField | None:
        if db_field.name == "groups":
            # A group not offered is refused by the form ("not one of the
            # available choices"), so a crafted POST cannot add it either.
            kwargs["queryset"] = groups_grantable_by(editor=request.user)
        return super().formfield_for_manytomany(db_field, request, **kwargs)

    @admin.display(description="roles")
    def roles(self, user: User) -> str:
        return ", ".join(sorted(group.name for group in user.groups.all()))

    def get_readonly_fields(self, request: HttpRequest, obj: User | None = None) -> tuple[str, ...]:
        readonly: tuple[str, ...] = ("last_login", "date_joined")
        if not request.user.is_superuser:
            # What a manager may grant ends at the roles: superuser and raw
            # permissions would let anyone sidestep the permission matrix, and
            # "staff" goes with the manager role, which only a superuser grants.
            readonly += ("is_staff", "is_superuser", "user_permissions")
        return readonly
