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


class BrigadeAdminSite(admin.AdminSite):
    """Django admin, open only to active staff whose role holds USE_ADMIN.

    is_staff alone is not enough: a waiter ticked as staff by mistake still
    stays out, because the permission matrix decides.
    """

    def has_permission(self, request: HttpRequest) -> bool:
        return super().has_permission(request) and can(request.user, Capability.USE_ADMIN)

    def admin_view(self, view: Callable[..., HttpResponse], cacheable: bool = False) -> Callable[..., Any]:
        # Every admin page goes through here, so one check covers every model's actions.
        def bounded(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if request.method == "POST" and _ids_out_of_range(request):
                from restaurant.error_views import error_response

                return error_response(request, 400)
            return view(request, *args, **kwargs)

        bounded.__dict__.update(getattr(view, "__dict__", {}))
        return super().admin_view(bounded, cacheable)


class BrigadeAdminConfig(AdminConfig):
    default_site = "accounts.admin_site.BrigadeAdminSite"
