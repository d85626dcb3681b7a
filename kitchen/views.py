"""The kitchen board: expo (every station) at /kitchen/, one station at /kitchen/<slug>/.

The page renders the board as it is; kitchen-board.js then keeps it live over
/ws/kitchen/. Ticket buttons are plain forms, so the board also works (one
reload per tap) when scripts or sockets do not; with scripts they are sent
with fetch and answered in JSON.

Expo shows one card per order, each station's ticket in it; once every
station has bumped, the card is ready and its hand-over button (served,
picked up, out for delivery: orders.handover) completes the order.
"""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST, require_safe

from accounts.http import AuthenticatedHttpRequest
from accounts.permissions import Capability, can
from accounts.roles import Actor
from kitchen.models import OPEN_TICKET_STATUSES, Station
from kitchen.selectors import (
    all_day_counts,
    board_seq,
    board_sold_out,
    board_stations,
    board_tickets,
    expo_cards,
    recall_strip,
    ticket_states,
)
from kitchen.services import TICKET_MOVES, ticket_move
from orders.handover import HandOver, order_hand_over
from orders.models import Order
from restaurant.error_views import error_json, wants_json
from restaurant.errors import ApplicationError, NotFound
from restaurant.forms import StrictForm, version_field


class TicketMoveForm(StrictForm):
    move = forms.ChoiceField(choices=[(move, move) for move in TICKET_MOVES])
    version = version_field()
    # Which board to return to after a form post: "" for expo, else a station slug.
    board = forms.SlugField(required=False, max_length=60)


class HandOverForm(StrictForm):
    how = forms.ChoiceField(choices=HandOver.choices)
    version = version_field()


def _board_actor(request: AuthenticatedHttpRequest) -> Actor:
    actor = Actor.for_user(request.user)
    if not can(actor, Capability.USE_KITCHEN_BOARD):
        raise PermissionDenied("The kitchen board is for chefs and managers.")
    return actor


def _board_page(
    request: HttpRequest, station: Station | None, *, errors: list[str] | None = None, status: int = 200
) -> HttpResponse:
    # The clock first, as the snapshot reads it: a change in between arrives again as an event.
    seq = board_seq()
    tickets = board_tickets()
    shown = [t for t in tickets if station is None or t.station_id == station.pk]
    cards = expo_cards(shown) if station is None else []
    context = {
        "station": station,
        "stations": list(board_stations()),
        "seq": seq,
        "open_tickets": [t for t in shown if t.status in OPEN_TICKET_STATUSES],
        "cooking_cards": [card for card in cards if not card.is_ready],
        "ready_cards": [card for card in cards if card.is_ready],
        "recallable": recall_strip(shown) if station is not None else [],
        "all_day": all_day_counts(shown),
        # What the menu cannot sell now: 86ed by a manager, or out of stock (menu.pantry).
        "sold_out": board_sold_out(),
        "errors": errors or [],
    }
    return render(request, "kitchen/board.html", context, status=status)


@login_required
@require_safe
def board(request: AuthenticatedHttpRequest, station_slug: str | None = None) -> HttpResponse:
    _board_actor(request)
    station = get_object_or_404(Station, slug=station_slug, is_active=True) if station_slug else None
    return _board_page(request, station)


@login_required
@require_POST
def ticket_move_view(request: AuthenticatedHttpRequest, ticket_id: int) -> HttpResponse:
    actor = _board_actor(request)
    form = TicketMoveForm(request.POST)
    board_slug = form.cleaned_data.get("board") if form.is_valid() else ""
    station = Station.objects.filter(slug=board_slug, is_active=True).first() if board_slug else None
    try:
        if not form.is_valid():
            raise ApplicationError("That button is not on the board.", code="invalid_move")
        ticket = ticket_move(
            ticket_id=ticket_id,
            move=form.cleaned_data["move"],
            actor=actor,
            expected_version=form.cleaned_data["version"],
        )
    except ApplicationError as error:
        if wants_json(request):
            return error_json(error.status, error.code, error.message, error.data)
        return _board_page(request, station, errors=[error.message], status=error.status)
    if wants_json(request):
        return JsonResponse({"ticket": ticket_states([ticket.pk])[0]})
    messages.success(request, f"Order #{ticket.order_id}: {ticket.get_status_display().lower()}.")
    return redirect(reverse("kitchen:station", args=[station.slug]) if station else reverse("kitchen:board"))


@login_required
@require_POST
def order_hand_over_view(request: AuthenticatedHttpRequest, order_id: int) -> HttpResponse:
    """Hands a ready order over, from expo or a waiter's device; the service checks who may."""
    actor = Actor.for_user(request.user)
    form = HandOverForm(request.POST)
    try:
        order = Order.objects.filter(pk=order_id).first()
        if order is None:
            raise NotFound("There is no such order.", code="order_not_found")
        if not form.is_valid():
            raise ApplicationError("That is not a way to hand an order over.", code="unknown_hand_over")
        order = order_hand_over(
            order=order,
            actor=actor,
            how=form.cleaned_data["how"],
            expected_version=form.cleaned_data["version"],
        )
    except ApplicationError as error:
        if wants_json(request):
            return error_json(error.status, error.code, error.message, error.data)
        if error.status == 403:
            raise PermissionDenied(error.message) from error
        if not can(actor, Capability.USE_KITCHEN_BOARD):
            # A waiter's browser posting a form: they have no board to show the message on.
            return HttpResponse(error.message, status=error.status, content_type="text/plain; charset=utf-8")
        return _board_page(request, None, errors=[error.message], status=error.status)
    if wants_json(request):
        return JsonResponse({"order": {"id": order.pk, "status": order.status, "version": order.version}})
    messages.success(request, f"Order {order.number}: {order.get_status_display().lower()}.")
    return redirect(reverse("kitchen:board"))
