"""The `online_ordering` switch: a manager stops online orders without stopping the site.

A django-waffle switch, flipped in admin (Waffle › Switches). On, as the data
migration creates it, everything works as usual. Off, the menu stays
browsable with a banner and no add buttons, and the cart's changes and the
checkout refuse with "we are not taking online orders right now": the page
for people, 503 with Retry-After and the JSON error body for programs. Staff
who work the floor go on taking table orders through the same cart and
checkout: the switch is about customers ordering online. Orders already
placed may still be paid and cancelled.

The banner is part of every menu page, and guests' menu pages (and their
ETags) are kept per menu version (menu.pages): flipping the switch bumps the
version after commit, as saving a menu row does (menu.signals).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar, cast

from django.conf import settings
from django.db.models.signals import post_delete, post_save
from django.http import HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import render
from waffle import get_waffle_switch_model

from accounts.permissions import Capability, can
from menu.cache import menu_changed
from restaurant.error_views import error_json, wants_json

SWITCH = "online_ordering"
CLOSED_MESSAGE = (
    "We are not taking online orders right now. The menu is here to browse; please try again later."
)


def online_ordering_on(request: HttpRequest | None = None) -> bool:
    """Whether the switch is on; asked once per request when given one (its door and its page both ask)."""
    known = getattr(request, "_online_ordering_on", None)
    if known is not None:
        return bool(known)
    switch = get_waffle_switch_model().get(SWITCH)
    # No row at all (deleted in admin, a database emptied by a test) reads
    # as the migration's state, on: an absent switch must not close the shop.
    on = switch.is_active() if switch.pk else True
    if request is not None:
        request._online_ordering_on = on  # type: ignore[attr-defined]
    return on


def takes_orders_from(request: HttpRequest) -> bool:
    """Whether this visitor may fill a cart and check out now."""
    user = getattr(request, "user", None)
    return online_ordering_on(request) or (user is not None and can(user, Capability.WORK_THE_FLOOR))


def ordering_closed(request: HttpRequest) -> HttpResponse:
    if wants_json(request):
        response: HttpResponse = error_json(503, "ordering_closed", CLOSED_MESSAGE)
    else:
        response = render(request, "orders/ordering_closed.html", {"message": CLOSED_MESSAGE}, status=503)
    response["Retry-After"] = str(settings.ORDERING_CLOSED_RETRY_AFTER_SECONDS)
    # A manager's choice, not a failure: Django would log every such 503 as
    # an error (and Sentry report it); the access log still records each one.
    response._has_been_logged = True  # type: ignore[attr-defined]
    return response


View = TypeVar("View", bound=Callable[..., HttpResponseBase])


def online_ordering_required(view: View) -> View:
    """A cart or checkout door: refused while the switch is off, except for floor staff."""

    @functools.wraps(view)
    def guarded(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if not takes_orders_from(request):
            return ordering_closed(request)
        return view(request, *args, **kwargs)

    return cast("View", guarded)


def _switch_changed(sender: Any, instance: Any, raw: bool = False, **kwargs: Any) -> None:
    if not raw and getattr(instance, "name", None) == SWITCH:
        menu_changed()


def connect() -> None:
    switch_model = get_waffle_switch_model()
    post_save.connect(_switch_changed, sender=switch_model, dispatch_uid="orders.online_ordering.save")
    post_delete.connect(_switch_changed, sender=switch_model, dispatch_uid="orders.online_ordering.delete")
