"""The floor page: waiters and managers follow open orders, take payment at the
table, cancel with a reason and mark orders served. Doors only; the state
machine decides what each person may do."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST, require_safe

from accounts.permissions import Capability, can
from accounts.roles import Actor
from orders.checkout import order_cancel_by
from orders.models import Order, OrderStatus
from orders.selectors import FLOOR_LIMIT, floor_open_orders
from orders.services import order_mark_paid, order_transition
from restaurant.errors import ApplicationError
from restaurant.forms import StrictForm, version_field
from restaurant.validators import refuse_invisible_controls

FLOOR_ACTIONS = ("paid", "cancel", "served")


class FloorActionForm(StrictForm):
    action = forms.ChoiceField(choices=[(action, action) for action in FLOOR_ACTIONS])
    version = version_field()
    reason = forms.CharField(max_length=500, required=False, validators=[refuse_invisible_controls])


def _floor_actor(request: HttpRequest) -> Actor:
    actor = Actor.for_user(request.user)
    if not can(actor, Capability.WORK_THE_FLOOR):
        raise PermissionDenied("The floor page is for waiters and managers.")
    return actor


def _floor_context() -> dict[str, object]:
    open_orders = floor_open_orders()
    shown = list(open_orders[:FLOOR_LIMIT])
    not_shown = open_orders.count() - len(shown) if len(shown) == FLOOR_LIMIT else 0
    return {"orders": shown, "not_shown": not_shown}


@login_required
@require_safe
def floor(request: HttpRequest) -> HttpResponse:
    _floor_actor(request)
    return render(request, "orders/floor.html", _floor_context())


@login_required
@require_POST
def floor_action(request: HttpRequest, order_id: int) -> HttpResponse:
    actor = _floor_actor(request)
    order = get_object_or_404(Order, pk=order_id)
    form = FloorActionForm(request.POST)
    try:
        if not form.is_valid():
            raise ApplicationError("That action is not on the floor page.", code="invalid_action")
        data = form.cleaned_data
        if data["action"] == "cancel":
            order_cancel_by(order=order, actor=actor, reason=data["reason"], expected_version=data["version"])
        elif data["action"] == "paid":
            order_mark_paid(order=order, actor=actor, expected_version=data["version"])
        else:
            order_transition(
                order=order, to_status=OrderStatus.COMPLETED, actor=actor, expected_version=data["version"]
            )
    except ApplicationError as error:
        context = {**_floor_context(), "errors": [error.message]}
        return render(request, "orders/floor.html", context, status=error.status)
    order.refresh_from_db()
    messages.success(request, f"Order {order.number}: {order.get_status_display().lower()}.")
    return redirect("orders:floor")
