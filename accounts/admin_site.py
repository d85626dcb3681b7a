from __future__ import annotations

from django.contrib import admin
from django.contrib.admin.apps import AdminConfig
from django.http import HttpRequest

from accounts.permissions import Capability, can


class BrigadeAdminSite(admin.AdminSite):
    """Django admin, open only to active staff whose role holds USE_ADMIN.

    is_staff alone is not enough: a waiter ticked as staff by mistake still
    stays out, because the permission matrix decides.
    """

    def has_permission(self, request: HttpRequest) -> bool:
        return super().has_permission(request) and can(request.user, Capability.USE_ADMIN)


class BrigadeAdminConfig(AdminConfig):
    default_site = "accounts.admin_site.BrigadeAdminSite"
