"""The kitchen board: expo (every station) at /kitchen/, one station at /kitchen/<slug>/.

The page renders the board as it is; kitchen-board.js then keeps it live over
/ws/kitchen/. Ticket buttons are plain forms, so the board also works (one
reload per tap) when scripts or sockets do not; with scripts they are sent
with fetch and answered in JSON.
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
from kitchen.models import OPEN_TICKET_STATUSES, Station, TicketStatus
from kitchen.selectors import all_day_counts, board_seq, board_stations, board_tickets, ticket_states
from kitchen.services import TICKET_MOVES, ticket_move
from menu.pantry.selectors import menu_sold_out
from restaurant.error_views import error_json, wants_json
from restaurant.errors import ApplicationError
from restaurant.forms import StrictForm, version_field


class TicketMoveForm(StrictForm):
    move = forms.ChoiceField(choices=[(move, move) for move in TICKET_MOVES])
    version = version_field()
    # Which board to return to after a form post: "" for expo, else a station slug.
    board = forms.SlugField(required=False, max_length=60)


def _board_actor(request: AuthenticatedHttpRequest) -> Actor:
    actor = Actor.for_user(request.user)
    if not can(actor, Capability.USE_KITCHEN_BOARD):
        raise PermissionDenied("The kitchen board is for chefs and managers.")
    return actor


def _board_page(
    request: HttpRequest, station: Station | None, *, errors: list[str] | None = None, status: int = 200
) -> HttpResponse:
    tickets = board_tickets()
    shown = [t for t in tickets if station is None or t.station_id == station.pk]
    context = {
        "station": station,
        "stations": list(board_stations()),
        "seq": board_seq(),
        "open_tickets": [t for t in shown if t.status in OPEN_TICKET_STATUSES],
        "recallable": [t for t in shown if t.status == TicketStatus.BUMPED],
        "all_day": all_day_counts(shown),
        # What the menu cannot sell now: 86ed by a manager, or out of stock (menu.pantry).
        "sold_out": menu_sold_out(),
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
