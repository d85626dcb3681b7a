"""The tabs' doors on the floor: the open tabs, a tab's bill, paying it at the till, taking a round off.

Doors only: the services decide and the state machine checks each round's move.
Every refusal is the one error: the JSON body for a program, the bill page
with the message for a browser, with the same 4xx status.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST, require_safe

from accounts.permissions import Capability, can
from accounts.roles import Actor
from menu.money import format_money
from orders.payments.services import tab_payment_start
from orders.tabs.forms import TabPayForm, TabPayOnlineForm, TabRoundRemoveForm
from orders.tabs.selectors import tab_bill, table_open_tabs
from orders.tabs.services import tab_round_remove, tab_settle
from restaurant.error_views import error_json, wants_json
from restaurant.errors import ApplicationError, NotFound


def _floor_actor(request: HttpRequest) -> Actor:
    actor = Actor.for_user(request.user)
    if not can(actor, Capability.WORK_THE_FLOOR):
        raise PermissionDenied("Tabs are for waiters and managers.")
    return actor


def _form_error(form: TabPayForm | TabPayOnlineForm | TabRoundRemoveForm) -> ApplicationError:
    messages_ = [str(message) for errors in form.errors.values() for message in errors]
    return ApplicationError(" ".join(messages_) or "Check the form.", code="invalid_form")


def _refused(request: HttpRequest, tab_id: int, error: ApplicationError) -> HttpResponse:
    if wants_json(request):
        return error_json(error.status, error.code, error.message, error.data)
    bill = tab_bill(tab_id=tab_id)
    if bill is None:
        return render(request, "404.html", {"message": error.message}, status=error.status)
    return render(
        request, "orders/tabs/bill.html", {"bill": bill, "errors": [error.message]}, status=error.status
    )


@login_required
@require_safe
def tabs_open(request: HttpRequest) -> HttpResponse:
    _floor_actor(request)
    return render(request, "orders/tabs/open.html", {"tabs": list(table_open_tabs().values())})


@login_required
@require_safe
def bill(request: HttpRequest, tab_id: int) -> HttpResponse:
    _floor_actor(request)
    summary = tab_bill(tab_id=tab_id)
    if summary is None:
        return _refused(request, tab_id, NotFound("There is no such tab.", code="tab_not_found"))
    return render(request, "orders/tabs/bill.html", {"bill": summary})


@login_required
@require_POST
def pay(request: HttpRequest, tab_id: int) -> HttpResponse:
    actor = _floor_actor(request)
    form = TabPayForm(request.POST)
    try:
        if not form.is_valid():
            raise _form_error(form)
        tab = tab_settle(
            tab_id=tab_id,
            method=form.cleaned_data["method"],
            expected_version=form.cleaned_data["version"],
            actor=actor,
        )
    except ApplicationError as error:
        return _refused(request, tab_id, error)
    messages.success(
        request,
        f"Tab {tab.number} paid: {format_money(tab.paid_minor or 0, tab.currency)}, "
        f"{tab.get_payment_method_display().lower()}. The tab is closed.",
    )
    return redirect("orders:tab_bill", tab_id=tab.pk)


@login_required
@require_POST
def pay_online(request: HttpRequest, tab_id: int) -> HttpResponse:
    """Opens the provider's checkout for the whole bill; the provider's event closes the tab."""
    actor = _floor_actor(request)
    form = TabPayOnlineForm(request.POST)
    try:
        if not form.is_valid():
            raise _form_error(form)
        session = tab_payment_start(
            tab_id=tab_id,
            expected_version=form.cleaned_data["version"],
            actor=actor,
            return_url=request.build_absolute_uri(reverse("orders:tab_bill", kwargs={"tab_id": tab_id})),
        )
    except ApplicationError as error:
        return _refused(request, tab_id, error)
    return redirect(session.redirect_url)


@login_required
@require_POST
def round_remove(request: HttpRequest, tab_id: int, order_id: int) -> HttpResponse:
    actor = _floor_actor(request)
    form = TabRoundRemoveForm(request.POST)
    try:
        if not form.is_valid():
            raise _form_error(form)
        order = tab_round_remove(
            tab_id=tab_id,
            order_id=order_id,
            actor=actor,
            reason=form.cleaned_data["reason"],
            expected_version=form.cleaned_data["version"],
        )
    except ApplicationError as error:
        return _refused(request, tab_id, error)
    messages.success(request, f"Order {order.number} is off the tab ({order.get_status_display().lower()}).")
    return redirect("orders:tab_bill", tab_id=tab_id)
