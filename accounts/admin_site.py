from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, TypeVar, cast
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.admin.apps import AdminConfig
from django.contrib.auth import REDIRECT_FIELD_NAME
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseBase, HttpResponseRedirect
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme

from accounts.permissions import Capability, can

_View = TypeVar("_View", bound=Callable[..., HttpResponseBase])
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


def passed_second_factor(request: HttpRequest) -> bool:
    """Whether this session's user proved a second factor (at sign-in or since)."""
    from allauth.account.authentication import get_authentication_records

    records = get_authentication_records(request, request.user)
    return any(record.get("method") == "mfa" for record in records)


def has_second_factor(user: Any) -> bool:
    # Imported here: this module is loaded with the app registry, before models.
    from allauth.mfa.models import Authenticator
    from allauth.mfa.utils import is_mfa_enabled

    return is_mfa_enabled(user, [Authenticator.Type.TOTP])


class BrigadeAdminSite(admin.AdminSite):
    """Django admin, open only to active staff whose role holds USE_ADMIN.

    is_staff alone is not enough: a waiter ticked as staff by mistake still
    stays out, because the permission matrix decides. With
    STAFF_MFA_REQUIRED on, the session must also have passed a second factor.

    Admin has no sign-in form of its own: its login page sends people to
    allauth's, so there is one sign-in flow, with one limiter
    (accounts.sign_in_limits) and the second-factor stage.
    """

    def has_permission(self, request: HttpRequest) -> bool:
        return (
            super().has_permission(request)
            and can(request.user, Capability.USE_ADMIN)
            and (
                not settings.STAFF_MFA_REQUIRED
                or (has_second_factor(request.user) and passed_second_factor(request))
            )
        )

    def login(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> HttpResponse:
        next_url = request.GET.get(REDIRECT_FIELD_NAME, "")
        if not url_has_allowed_host_and_scheme(
            next_url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
        ):
            next_url = reverse("admin:index", current_app=self.name)
        user = request.user
        if not user.is_authenticated:
            return _redirect("account_login", next_url)
        if self.has_permission(request):
            return HttpResponseRedirect(next_url)
        if not (user.is_active and user.is_staff and can(user, Capability.USE_ADMIN)):
            raise PermissionDenied
        # Allowed in admin but for the second factor.
        if has_second_factor(user):
            return _redirect("mfa_reauthenticate", next_url)
        messages.warning(request, "Managers need an authenticator app to use admin: set one up first.")
        return _redirect("mfa_activate_totp", next_url)

    def admin_view(self, view: _View, cacheable: bool = False) -> _View:
        # Every admin page goes through here, so one check covers every model's actions and lists.
        def bounded(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
            if (request.method == "POST" and _ids_out_of_range(request)) or _date_part_out_of_range(request):
                from restaurant.error_views import error_response

                return error_response(request, 400)
            return view(request, *args, **kwargs)

        bounded.__dict__.update(getattr(view, "__dict__", {}))
        return cast("_View", super().admin_view(bounded, cacheable))


def _redirect(urlname: str, next_url: str) -> HttpResponseRedirect:
    return HttpResponseRedirect(f"{reverse(urlname)}?{urlencode({REDIRECT_FIELD_NAME: next_url})}")


class BrigadeAdminConfig(AdminConfig):
    default_site = "accounts.admin_site.BrigadeAdminSite"
