"""The floor page: waiters and managers see every table and what waits at the pass,
live over /ws/floor/ (static/js/floor.js), take payment at the table, cancel
with a reason and mark orders served. The page and its forms work without
scripts; the socket only keeps it current. Doors only; the state machine
decides what each person may do."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST, require_safe

from accounts.permissions import Capability, can
from accounts.roles import Actor
from orders.checkout import order_cancel_by
from orders.floor.selectors import Floor, FloorTable, floor_seq, floor_state
from orders.handover import hand_over_way, order_hand_over
from orders.models import Order, OrderStatus, OrderType
from orders.selectors import FLOOR_LIMIT
from orders.services import order_mark_paid
from restaurant.errors import ApplicationError
from restaurant.forms import StrictForm, version_field
from restaurant.validators import refuse_invisible_controls

FLOOR_ACTIONS = ("paid", "cancel", "served")
# What the floor can be narrowed to (?show=…); static/js/floor.js applies the same rules live.
FLOOR_FILTERS = {
    "all": "All",
    "ready": "Ready to serve",
    "waiting": "Waiting",
    "tables": "Tables",
    "pickups": "Pickups",
    "deliveries": "Deliveries",
}
_FILTER_CHOICES = list(FLOOR_FILTERS.items())


class FloorFilterForm(StrictForm):
    show = forms.ChoiceField(choices=_FILTER_CHOICES, required=False)


class FloorActionForm(StrictForm):
    action = forms.ChoiceField(choices=[(action, action) for action in FLOOR_ACTIONS])
    version = version_field()
    reason = forms.CharField(max_length=500, required=False, validators=[refuse_invisible_controls])
    # The filter the page was on, so the answer comes back to it.
    show = forms.ChoiceField(choices=_FILTER_CHOICES, required=False)


def _floor_actor(request: HttpRequest) -> Actor:
    actor = Actor.for_user(request.user)
    if not can(actor, Capability.WORK_THE_FLOOR):
        raise PermissionDenied("The floor page is for waiters and managers.")
    return actor


def _order_shown(order: Order, show: str) -> bool:
    if show == "ready":
        return order.status == OrderStatus.READY
    if show == "waiting":
        return order.status != OrderStatus.READY
    if show == "pickups":
        return order.order_type == OrderType.PICKUP
    if show == "deliveries":
        return order.order_type == OrderType.DELIVERY
    return True


def _floor_context(show: str = "all") -> dict[str, object]:
    # Read before the state, as the snapshot reads it: a change in between arrives again, harmlessly.
    seq = floor_seq()
    floor: Floor = floor_state()
    table_orders = [order for table in floor.tables for order in table.orders]
    everything = table_orders + floor.at_the_pass
    counts = {
        "all": len(everything),
        "ready": sum(order.status == OrderStatus.READY for order in everything),
        "waiting": sum(order.status != OrderStatus.READY for order in everything),
        "tables": len(table_orders),
        "pickups": sum(order.order_type == OrderType.PICKUP for order in floor.at_the_pass),
        "deliveries": sum(order.order_type == OrderType.DELIVERY for order in floor.at_the_pass),
    }
    # Every table on "all" and "tables" (a free one is news too); only those with
    # something to show on "ready" and "waiting"; none on pickups and deliveries.
    tables: list[FloorTable] = []
    if show in ("all", "tables"):
        tables = floor.tables
    elif show in ("ready", "waiting"):
        narrowed = (
            FloorTable(t.table, [o for o in t.orders if _order_shown(o, show)], t.tab) for t in floor.tables
        )
        tables = [t for t in narrowed if t.orders]
    at_the_pass = [] if show == "tables" else [o for o in floor.at_the_pass if _order_shown(o, show)]
    return {
        "seq": seq,
        "show": show,
        "filters": [(key, label, counts[key]) for key, label in FLOOR_FILTERS.items()],
        "tables": tables,
        "tables_shown": show not in ("pickups", "deliveries"),
        "pass_shown": show != "tables",
        "at_the_pass": at_the_pass,
        "not_shown": floor.not_shown,
        "limit": FLOOR_LIMIT,
    }


@login_required
@require_safe
def floor(request: HttpRequest) -> HttpResponse:
    _floor_actor(request)
    form = FloorFilterForm(request.GET)
    if not form.is_valid():
        context = {**_floor_context(), "errors": ["That filter is not on the floor page."]}
        return render(request, "orders/floor.html", context, status=400)
    return render(request, "orders/floor.html", _floor_context(form.cleaned_data["show"] or "all"))


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
            # "served" is the floor's hand-over: the way that fits the order's type.
            order_hand_over(
                order=order, actor=actor, how=hand_over_way(order).value, expected_version=data["version"]
            )
    except ApplicationError as error:
        context = {**_floor_context(), "errors": [error.message]}
        return render(request, "orders/floor.html", context, status=error.status)
    order.refresh_from_db()
    messages.success(request, f"Order {order.number}: {order.get_status_display().lower()}.")
    show = data["show"]
    back = reverse("orders:floor")
    return redirect(f"{back}?show={show}" if show and show != "all" else back)
