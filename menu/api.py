"""The menu over the API: built from the same cached snapshot as the menu page, with ETag and 304.

What an app sees is what the page shows its visitor's audience: listed items
of active categories, 86ed ones marked unavailable, VIP specials only where
the flag "vip_specials" is on for the request (never drawn here, as the cart
never draws: menu.specials). Answers carry `Cache-Control: private,
no-cache` and an ETag over the menu version, the audience and the resource,
as the pages do (menu.pages), so a client revalidates each time and a
current copy costs a 304 without a body.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.http import HttpResponseBase
from django.urls import path
from django.utils.crypto import salted_hmac
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response

from menu.cache import MenuSnapshot
from menu.pages import not_modified_answer, with_caching
from menu.selectors import menu_current
from menu.specials import specials_active
from restaurant.api.clients import ApiScope
from restaurant.api.views import ApiView
from restaurant.errors import NotFound


class OptionOutput(serializers.Serializer[Any]):
    id = serializers.IntegerField(source="pk")
    name = serializers.CharField()
    price_delta_minor = serializers.IntegerField()
    is_available = serializers.BooleanField()


class ModifierGroupOutput(serializers.Serializer[Any]):
    id = serializers.IntegerField(source="pk")
    name = serializers.CharField()
    min_choices = serializers.IntegerField()
    max_choices = serializers.IntegerField()
    options = OptionOutput(many=True)


class ItemOutput(serializers.Serializer[Any]):
    id = serializers.IntegerField(source="pk")
    slug = serializers.CharField()
    name = serializers.CharField()
    description = serializers.CharField()
    category = serializers.CharField(source="category_slug")
    price_minor = serializers.IntegerField()
    is_available = serializers.BooleanField()
    is_special = serializers.BooleanField()
    image_url = serializers.CharField()
    allergens = serializers.ListField(child=serializers.CharField())
    dietary_tags = serializers.ListField(child=serializers.CharField())
    modifier_groups = ModifierGroupOutput(source="groups", many=True)


class CategoryOutput(serializers.Serializer[Any]):
    slug = serializers.CharField()
    name = serializers.CharField()
    description = serializers.CharField()
    items = ItemOutput(many=True)


# Part of every ETag: a deploy that changes what an answer holds never
# matches a copy an older release handed out.
_REPRESENTATION = hashlib.sha256(repr((CategoryOutput(), ItemOutput())).encode()).hexdigest()[:12]
NOT_MODIFIED = OpenApiResponse(description="Not modified: the copy named by If-None-Match is current.")


def _etag(snapshot: MenuSnapshot, *, resource: str, specials: bool) -> str | None:
    if snapshot.version is None:  # the cache is away: nothing to revalidate against
        return None
    value = "|".join((_REPRESENTATION, snapshot.version, resource, "specials" if specials else "regular"))
    return salted_hmac("menu.api.etag", value).hexdigest()[:32]


class _MenuRead(ApiView):
    permission_classes = (AllowAny,)
    required_scope = ApiScope.MENU_READ

    def _answer(
        self, request: Request, *, resource: str, body: Callable[[MenuSnapshot, bool], Any]
    ) -> HttpResponseBase:
        """`body` of the current menu for this caller's audience, or 304 when their copy is current."""
        snapshot = menu_current()
        specials = specials_active(request._request, draw=False, menu=snapshot)
        data = body(snapshot, specials)  # first: a resource that is not there is never "not modified"
        etag = _etag(snapshot, resource=resource, specials=specials)
        if (not_modified := not_modified_answer(request._request, etag)) is not None:
            return not_modified
        return with_caching(Response(data), etag)


class MenuApi(_MenuRead):
    class Output(serializers.Serializer[Any]):
        currency = serializers.CharField()
        categories = CategoryOutput(many=True)

    @extend_schema(operation_id="menu_read", responses={200: Output, 304: NOT_MODIFIED})
    def get(self, request: Request) -> HttpResponseBase:
        """The whole menu: categories, their items, each item's modifier groups and options."""

        def body(snapshot: MenuSnapshot, specials: bool) -> Any:
            categories = snapshot.categories_for(specials=specials)
            return self.Output({"currency": settings.BRIGADE_CURRENCY, "categories": categories}).data

        return self._answer(request, resource="menu", body=body)


class MenuItemApi(_MenuRead):
    class Output(ItemOutput):
        currency = serializers.SerializerMethodField()

        def get_currency(self, item: object) -> str:
            return settings.BRIGADE_CURRENCY

    @extend_schema(operation_id="menu_item_read", responses={200: Output, 304: NOT_MODIFIED})
    def get(self, request: Request, slug: str) -> HttpResponseBase:
        """One item with its choices; 404 for one not on the caller's menu (a special, flag off)."""

        def body(snapshot: MenuSnapshot, specials: bool) -> Any:
            item = snapshot.item_for(slug=slug, specials=specials)
            if item is None:
                raise NotFound("No such item on the menu.")
            return self.Output(item).data

        return self._answer(request, resource=f"item:{slug}", body=body)


class MenuAvailabilityApi(_MenuRead):
    class Output(serializers.Serializer[Any]):
        class Item(serializers.Serializer[Any]):
            id = serializers.IntegerField(source="pk")
            slug = serializers.CharField()
            is_available = serializers.BooleanField()

        class Option(serializers.Serializer[Any]):
            id = serializers.IntegerField(source="pk")
            item = serializers.IntegerField()
            is_available = serializers.BooleanField()

        items = Item(many=True)
        options = Option(many=True)

    @extend_schema(operation_id="menu_availability_read", responses={200: Output, 304: NOT_MODIFIED})
    def get(self, request: Request) -> HttpResponseBase:
        """What can be ordered right now ("86" or not), small enough to poll."""

        def body(snapshot: MenuSnapshot, specials: bool) -> Any:
            items = [
                item for category in snapshot.categories_for(specials=specials) for item in category.items
            ]
            options = [
                {"pk": option.pk, "item": item.pk, "is_available": option.is_available}
                for item in items
                for group in item.groups
                for option in group.options
            ]
            return self.Output({"items": items, "options": options}).data

        return self._answer(request, resource="availability", body=body)


urlpatterns = [
    path("menu/", MenuApi.as_view(), name="menu"),
    path("menu/availability/", MenuAvailabilityApi.as_view(), name="menu_availability"),
    path("menu/items/<slug:slug>/", MenuItemApi.as_view(), name="menu_item"),
]
