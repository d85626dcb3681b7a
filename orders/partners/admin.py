"""Partners and their delivery log in the admin."""

from __future__ import annotations

import json
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db import models
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.utils.html import format_html
from rest_framework_api_key.models import APIKey

from orders.admin_inlines import ReadOnlyInline
from orders.partners.models import Partner, PartnerAPIKey, PartnerDelivery, PartnerTopic
from orders.partners.services import (
    partner_delivery_resend,
    partner_key_create,
    partner_key_revoke,
    partner_secret_rotate,
)
from restaurant.api.clients import ApiScope

RECENT_DELIVERIES = 20


def _https_by_default(field: models.Field, **kwargs: Any) -> forms.Field | None:
    # A URL typed without a scheme is taken as https (Django 6's default).
    if isinstance(field, models.URLField):
        kwargs.setdefault("assume_scheme", "https")
    return field.formfield(**kwargs)


class PartnerForm(forms.ModelForm):
    events = forms.MultipleChoiceField(
        choices=PartnerTopic.choices,
        widget=forms.CheckboxSelectMultiple,
        required=False,
        help_text="The events this partner is sent.",
    )

    class Meta:
        model = Partner
        fields = ("name", "url", "events", "is_active")
        formfield_callback = _https_by_default


class RecentDeliveriesFormSet(forms.BaseInlineFormSet):
    def get_queryset(self) -> QuerySet[PartnerDelivery]:
        # A busy partner has thousands of deliveries; its page shows the latest.
        if not hasattr(self, "_recent"):
            self._recent = super().get_queryset().select_related("outbox_event")[:RECENT_DELIVERIES]
        return self._recent


class RecentDeliveryInline(ReadOnlyInline):
    model = PartnerDelivery
    formset = RecentDeliveriesFormSet
    verbose_name_plural = f"recent deliveries (latest {RECENT_DELIVERIES})"
    fields = ("created_at", "topic", "order_number", "status", "attempts", "last_status_code", "last_error")
    readonly_fields = fields
    show_change_link = True

    @admin.display(description="order")
    def order_number(self, delivery: PartnerDelivery) -> str:
        return f"#{delivery.outbox_event.order_id}"


def _show_secret_once(
    modeladmin: admin.ModelAdmin, request: HttpRequest, partner: Partner, secret: str
) -> None:
    modeladmin.message_user(
        request,
        f"The signing secret of {partner.name} is {secret} — give it to the partner now: "
        "it is not shown again.",
        messages.WARNING,
    )


@admin.register(Partner)
class PartnerAdmin(admin.ModelAdmin):
    form = PartnerForm
    # Admin builds the form's fields itself: the same https default here.
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}
    list_display = ("name", "url", "subscribed", "is_active", "created_at")
    list_filter = ("is_active",)
    search_fields = ("name", "url")
    fieldsets = (
        (None, {"fields": ("name", "url", "events", "is_active")}),
        ("Signing", {"fields": ("secret_hint", "created_at")}),
    )
    readonly_fields = ("secret_hint", "created_at")
    inlines = [RecentDeliveryInline]
    actions = ("rotate_secret",)

    @admin.display(description="events")
    def subscribed(self, partner: Partner) -> str:
        return ", ".join(partner.events or []) or "—"

    @admin.display(description="secret")
    def secret_hint(self, partner: Partner) -> str:
        # The secret itself is shown once, when it is made (added or rotated).
        if partner.pk is None:
            return "Generated when the partner is saved, and shown once."
        return f"…{partner.secret[-4:]} (rotate it to see a new one)"

    def response_add(
        self, request: HttpRequest, obj: Partner, post_url_continue: str | None = None
    ) -> HttpResponse:
        _show_secret_once(self, request, obj, obj.secret)
        return super().response_add(request, obj, post_url_continue)

    @admin.action(description="Rotate secret (the new one is shown once)", permissions=["change"])
    def rotate_secret(self, request: HttpRequest, queryset: QuerySet[Partner]) -> None:
        for partner in queryset.order_by("pk"):
            _show_secret_once(self, request, partner, partner_secret_rotate(partner=partner))


@admin.register(PartnerDelivery)
class PartnerDeliveryAdmin(admin.ModelAdmin):
    """The delivery log: every event sent to every partner, how it went, and a resend."""

    list_display = (
        "created_at", "partner", "topic", "order_number", "status", "attempts", "last_status_code",
        "last_error", "delivered_at",
    )  # fmt: skip
    list_filter = ("status", "topic", "partner")
    list_select_related = ("partner", "outbox_event")
    search_fields = ("partner__name",)
    date_hierarchy = "created_at"
    fields = (
        "partner", "topic", "order_number", "status", "attempts", "last_status_code", "last_error",
        "next_attempt_at", "delivered_at", "created_at", "public_id", "body",
    )  # fmt: skip
    readonly_fields = fields
    actions = ("resend",)

    def has_add_permission(self, request: HttpRequest) -> bool:
        # Deliveries come from events, never typed in.
        return False

    def has_delete_permission(self, request: HttpRequest, obj: PartnerDelivery | None = None) -> bool:
        return False

    @admin.display(description="order", ordering="outbox_event__order_id")
    def order_number(self, delivery: PartnerDelivery) -> str:
        return f"#{delivery.outbox_event.order_id}"

    @admin.display(description="body")
    def body(self, delivery: PartnerDelivery) -> str:
        return format_html("<pre>{}</pre>", json.dumps(delivery.payload, indent=2, ensure_ascii=False))

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[PartnerDelivery], search_term: str
    ) -> tuple[QuerySet[PartnerDelivery], bool]:
        results, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        number = search_term.strip().lstrip("#")
        if number.isdigit() and len(number) < 19:
            results |= queryset.filter(outbox_event__order_id=int(number))
        return results, may_have_duplicates

    @admin.action(description="Resend selected", permissions=["change"])
    def resend(self, request: HttpRequest, queryset: QuerySet[PartnerDelivery]) -> None:
        ids = list(queryset.values_list("pk", flat=True))
        sent = partner_delivery_resend(delivery_ids=ids)
        if sent:
            self.message_user(request, f"{sent} delivery(ies) sent again.", messages.SUCCESS)
        if len(ids) > sent:
            self.message_user(
                request,
                f"{len(ids) - sent} left alone: only failed deliveries are resent "
                "(a delivered one never goes twice, a pending one is still being tried).",
                messages.WARNING,
            )


# ------------------------------------------------------------------ API keys

# djangorestframework-api-key registers its own, partner-less key model;
# partners' keys are the only keys Brigade accepts, so only they are shown.
if admin.site.is_registered(APIKey):
    admin.site.unregister(APIKey)


class PartnerAPIKeyForm(forms.ModelForm):
    scopes = forms.MultipleChoiceField(
        choices=ApiScope.choices,
        widget=forms.CheckboxSelectMultiple,
        required=False,
        help_text="What the key may do; every door refuses a key without its scope.",
    )

    class Meta:
        model = PartnerAPIKey
        fields = ("partner", "name", "scopes", "expiry_date", "revoked")


@admin.register(PartnerAPIKey)
class PartnerAPIKeyAdmin(admin.ModelAdmin):
    form = PartnerAPIKeyForm
    list_display = (
        "prefix",
        "name",
        "partner",
        "key_scopes",
        "created",
        "expiry_date",
        "revoked",
        "last_used_at",
    )
    list_filter = ("revoked", "partner")
    search_fields = ("name", "prefix", "partner__name")
    readonly_fields = ("prefix", "created", "last_used_at")
    actions = ("revoke",)

    @admin.display(description="scopes")
    def key_scopes(self, key: PartnerAPIKey) -> str:
        return ", ".join(key.scopes or []) or "—"

    def get_readonly_fields(self, request: HttpRequest, obj: PartnerAPIKey | None = None) -> tuple[str, ...]:
        # A key's owner never changes, and a revoked key is never revived.
        if obj is None:
            return self.readonly_fields
        fixed = ("partner", "revoked", "name", "scopes", "expiry_date") if obj.revoked else ("partner",)
        return (*self.readonly_fields, *fixed)

    def has_delete_permission(self, request: HttpRequest, obj: PartnerAPIKey | None = None) -> bool:
        return False  # revoke instead: the key's row says who held it and when it was last used

    def save_model(self, request: HttpRequest, obj: PartnerAPIKey, form: Any, change: bool) -> None:
        if change:
            # Name, scopes, expiry, revoked: the library's model refuses to un-revoke.
            super().save_model(request, obj, form, change)
            return
        key, raw = partner_key_create(
            partner=obj.partner, name=obj.name, scopes=list(obj.scopes or []), expiry_date=obj.expiry_date
        )
        obj.pk, obj.prefix, obj.created = key.pk, key.prefix, key.created
        self.message_user(
            request,
            f"The API key of {key.partner.name} is {raw} — give it to the partner now: it is not shown "
            f"again. Its prefix {key.prefix} names it here and in logs.",
            messages.WARNING,
        )

    @admin.action(description="Revoke (the next request with the key is refused)", permissions=["change"])
    def revoke(self, request: HttpRequest, queryset: QuerySet[PartnerAPIKey]) -> None:
        for key in queryset.filter(revoked=False).order_by("pk"):
            partner_key_revoke(key=key)
        self.message_user(request, "Revoked.", messages.SUCCESS)
