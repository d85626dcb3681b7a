from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from django.contrib import admin
from django.contrib.admin import helpers
from django.contrib.admin.apps import AdminConfig
from django.http import HttpRequest, HttpResponse

from accounts.permissions import Capability, can

_INTEGER = re.compile(r"^-?[0-9]+$")
# The date drill-down's query parameters (created_at__year=…): Django builds a
# datetime from them and only catches ValueError, so a year past the C long
# (OverflowError) or 9999 (whose next year does not exist) was a 500.
_DATE_PARTS = {"__year": (1, 9998), "__month": (1, 12), "__day": (1, 31)}


def _ids_out_of_range(request: HttpRequest) -> bool:
    """Whether an admin action was sent a number no row id can be (ids start at 1).

    The changelist filters `pk__in=<the ticked ids>` as sent, and SQLite
    overflows on a number past 2**63 - 1 (a 500) instead of finding nothing.
    """
    from restaurant.forms import DATABASE_ID_MAX

    return any(
        _INTEGER.match(value) and not 1 <= int(value) <= DATABASE_ID_MAX
        for value in request.POST.getlist(helpers.ACTION_CHECKBOX_NAME)
    )


def _date_part_out_of_range(request: HttpRequest) -> bool:
    for name, values in request.GET.lists():
        for suffix, (low, high) in _DATE_PARTS.items():
            if name.endswith(suffix) and not all(
                value.isascii() and value.isdigit() and len(value) <= 4 and low <= int(value) <= high
                for value in values
            ):
                return True
    return False


class BrigadeAdminSite(admin.AdminSite):
    """Django admin, open only to active staff whose role holds USE_ADMIN.

    is_staff alone is not enough: a waiter ticked as staff by mistake still
    stays out, because the permission matrix decides.
    """

    def has_permission(self, request: HttpRequest) -> bool:
        return super().has_permission(request) and can(request.user, Capability.USE_ADMIN)

    def admin_view(self, view: Callable[..., HttpResponse], cacheable: bool = False) -> Callable[..., Any]:
        # Every admin page goes through here, so one check covers every model's actions and lists.
        def bounded(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if (request.method == "POST" and _ids_out_of_range(request)) or _date_part_out_of_range(request):
                from restaurant.error_views import error_response

                return error_response(request, 400)
            return view(request, *args, **kwargs)

        bounded.__dict__.update(getattr(view, "__dict__", {}))
        return super().admin_view(bounded, cacheable)


class BrigadeAdminConfig(AdminConfig):
    default_site = "accounts.admin_site.BrigadeAdminSite"
