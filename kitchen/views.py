"""The kitchen board as a page: chefs start, bump and recall orders.

Served without JavaScript; the live websocket board builds on the same
selector and service.
"""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_POST

from accounts.permissions import Capability, can
from accounts.roles import Actor
from kitchen.selectors import board_orders
from orders.models import Order, OrderStatus
from orders.services import order_transition
from orders.state import KITCHEN_STATUSES
from restaurant.errors import ApplicationError, Conflict
from restaurant.forms import StrictForm

# What each button on the board does.
BOARD_MOVES = {
    "start": (OrderStatus.PAID, OrderStatus.IN_PREPARATION),
    "bump": (OrderStatus.IN_PREPARATION, OrderStatus.READY),
    "recall": (OrderStatus.READY, OrderStatus.IN_PREPARATION),
    "served": (OrderStatus.READY, OrderStatus.COMPLETED),
}


class BoardMoveForm(StrictForm):
    move = forms.ChoiceField(choices=[(move, move) for move in BOARD_MOVES])
    version = forms.IntegerField(min_value=1)


def _board_actor(request: HttpRequest) -> Actor:
    actor = Actor.for_user(request.user)
    if not can(actor, Capability.USE_KITCHEN_BOARD):
        raise PermissionDenied("The kitchen board is for chefs and managers.")
    return actor


def _columns() -> list[tuple[str, list[Order]]]:
    orders = list(board_orders())
    return [
        (OrderStatus(status).label, [order for order in orders if order.status == status])
        for status in KITCHEN_STATUSES
    ]


@login_required
@require_GET
def board(request: HttpRequest) -> HttpResponse:
    _board_actor(request)
    return render(request, "kitchen/board.html", {"columns": _columns()})


@login_required
@require_POST
def move(request: HttpRequest, order_id: int) -> HttpResponse:
    actor = _board_actor(request)
    order = get_object_or_404(Order, pk=order_id, status__in=KITCHEN_STATUSES)
    form = BoardMoveForm(request.POST)
    try:
        if not form.is_valid():
            raise ApplicationError("That button is not on the board.", code="invalid_move")
        from_status, to_status = BOARD_MOVES[form.cleaned_data["move"]]
        if order.status != from_status:
            raise Conflict(
                "That order has moved on already. The board is up to date now.", code="stale_order"
            )
        order_transition(
            order=order, to_status=to_status, actor=actor, expected_version=form.cleaned_data["version"]
        )
    except ApplicationError as error:
        return render(
            request,
            "kitchen/board.html",
            {"columns": _columns(), "errors": [error.message]},
            status=error.status,
        )
    messages.success(request, f"Order {order.number}: {OrderStatus(to_status).label.lower()}.")
    return redirect("kitchen:board")
