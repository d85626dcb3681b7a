"""Tables in admin: managers add, rename, retire and bring back tables, and print each area's QR sheet."""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import Http404, HttpRequest
from django.template.response import TemplateResponse
from django.urls import URLPattern, path
from django.utils import timezone
from django.utils.safestring import SafeString

from orders.floor.links import table_link_url
from orders.floor.models import Table
from orders.floor.qr import qr_svg
from orders.floor.selectors import table_areas, tables_in_service
from orders.floor.services import table_link_replace, table_reinstate, table_retire
from restaurant.errors import ApplicationError


class InServiceFilter(admin.SimpleListFilter):
    title = "in service"
    parameter_name = "in_service"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple[str, str]]:
        return [("yes", "In service"), ("no", "Retired")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Table]) -> QuerySet[Table]:
        if self.value() == "yes":
            return queryset.filter(retired_at__isnull=True)
        if self.value() == "no":
            return queryset.filter(retired_at__isnull=False)
        return queryset


@dataclass(frozen=True)
class SheetCard:
    table: Table
    svg: SafeString


@dataclass(frozen=True)
class SheetArea:
    name: str
    cards: list[SheetCard]


@admin.register(Table)
class TableAdmin(admin.ModelAdmin):
    list_display = ("label", "area", "seats", "sort_order", "in_service", "retired_at")
    list_filter = (InServiceFilter, "area")
    search_fields = ("label", "area")
    readonly_fields = ("retired_at", "link_version", "created_at", "updated_at")
    fields = ("label", "area", "seats", "sort_order", *readonly_fields)
    actions = ("retire_tables", "reinstate_tables", "replace_qr_codes")
    change_list_template = "admin/orders/table/change_list.html"

    @admin.display(boolean=True, description="in service", ordering="retired_at")
    def in_service(self, table: Table) -> bool:
        return table.in_service

    def has_delete_permission(self, request: HttpRequest, obj: Table | None = None) -> bool:
        # A table with orders is part of their record: retire it instead.
        if obj is not None and obj.orders.exists():
            return False
        return super().has_delete_permission(request, obj)

    @admin.action(description="Retire selected tables (their QR codes stop working)", permissions=["change"])
    def retire_tables(self, request: HttpRequest, queryset: QuerySet[Table]) -> None:
        retired = table_retire(table_ids=list(queryset.values_list("pk", flat=True)), now=timezone.now())
        self.message_user(request, f"{retired} table(s) retired.", messages.SUCCESS)

    @admin.action(description="Bring selected tables back into service", permissions=["change"])
    def reinstate_tables(self, request: HttpRequest, queryset: QuerySet[Table]) -> None:
        back = 0
        for table_id in queryset.filter(retired_at__isnull=False).values_list("pk", flat=True):
            try:
                table_reinstate(table_id=table_id, now=timezone.now())
            except ApplicationError as error:
                self.message_user(request, error.message, messages.ERROR)
            else:
                back += 1
        if back:
            self.message_user(request, f"{back} table(s) back in service.", messages.SUCCESS)

    @admin.action(
        description="Replace the QR codes of selected tables (codes printed before stop working)",
        permissions=["change"],
    )
    def replace_qr_codes(self, request: HttpRequest, queryset: QuerySet[Table]) -> None:
        replaced = table_link_replace(
            table_ids=list(queryset.values_list("pk", flat=True)), now=timezone.now()
        )
        self.message_user(
            request, f"{replaced} table(s) have a new QR code: print their sheet again.", messages.SUCCESS
        )

    def get_urls(self) -> list[URLPattern]:
        sheet = path(
            "qr-sheet/", self.admin_site.admin_view(self.qr_sheet_view), name="orders_table_qr_sheet"
        )
        return [sheet, *super().get_urls()]

    def changelist_view(self, request: HttpRequest, extra_context: dict | None = None) -> TemplateResponse:
        return super().changelist_view(request, {**(extra_context or {}), "qr_areas": table_areas()})  # type: ignore[return-value]

    def qr_sheet_view(self, request: HttpRequest) -> TemplateResponse:
        """A print-ready page of QR codes: every table in service, one printed page per area, or one area."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        areas = table_areas()
        wanted = request.GET.get("area")
        if wanted is not None:
            if wanted not in areas:
                raise Http404("No table in service has that area.")
            areas = [wanted]
        sheets = [
            SheetArea(
                name=area,
                cards=[
                    SheetCard(table=table, svg=qr_svg(table_link_url(table), title=f"QR code for {table}"))
                    for table in tables_in_service(area=area)
                ],
            )
            for area in areas
        ]
        context = {**self.admin_site.each_context(request), "sheets": sheets, "area": wanted}
        return TemplateResponse(request, "admin/orders/table/qr_sheet.html", context)
