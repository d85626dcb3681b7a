"""The kitchen board over the API: tickets by station for chefs, and moving them.

The same reads as the board page (kitchen.selectors) and the same service
as its buttons (kitchen.services.ticket_move): a move names the version of
the ticket the client saw, and a ticket moved by someone else since is a 409
(`stale_ticket`), as on the board. Chefs and managers only (the matrix's
use_kitchen_board and cook); `seq` is the board's clock, the one the board
socket's events continue from.
"""

from __future__ import annotations

from typing import Any

from django.urls import path
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.permissions import Capability
from kitchen.models import Station
from kitchen.selectors import (
    board_seq,
    board_stations,
    board_tickets,
    station_state,
    ticket_state,
    ticket_states,
)
from kitchen.services import TICKET_MOVES, ticket_move
from restaurant.api.permissions import api_actor, capable
from restaurant.api.serializers import StrictInput, version_field
from restaurant.api.views import ApiView
from restaurant.errors import NotFound


class TicketOutput(serializers.Serializer[Any]):
    class Line(serializers.Serializer[Any]):
        name = serializers.CharField()
        quantity = serializers.IntegerField()
        modifiers = serializers.CharField()
        note = serializers.CharField(help_text="The customer's note on this line; empty if none.")

    id = serializers.IntegerField()
    # Send it back with a move.
    version = serializers.IntegerField()
    status = serializers.CharField()
    station = serializers.CharField()
    station_name = serializers.CharField()
    order_id = serializers.IntegerField()
    order_number = serializers.CharField()
    order_status = serializers.CharField()
    order_type = serializers.CharField()
    where = serializers.CharField()
    instructions = serializers.CharField()
    promised = serializers.CharField()
    lines = Line(many=True)
    created_at = serializers.DateTimeField()
    started_at = serializers.DateTimeField(allow_null=True)
    bumped_at = serializers.DateTimeField(allow_null=True)


class TicketListApi(ApiView):
    permission_classes = (capable(Capability.USE_KITCHEN_BOARD),)

    class Filters(serializers.Serializer[Any]):
        # A slug, as stations' own (a NUL byte would reach PostgreSQL, which refuses it: a 500).
        station = serializers.SlugField(max_length=60, required=False)

    class Output(serializers.Serializer[Any]):
        class Station(serializers.Serializer[Any]):
            slug = serializers.CharField()
            name = serializers.CharField()
            warn_after_seconds = serializers.IntegerField()
            late_after_seconds = serializers.IntegerField()

        seq = serializers.IntegerField(help_text="The board's clock when these were read.")
        stations = Station(many=True)
        tickets = TicketOutput(many=True)

    @extend_schema(
        operation_id="kitchen_tickets_list",
        parameters=[
            OpenApiParameter("station", OpenApiTypes.STR, description="A station's slug; all if absent.")
        ],
        responses={200: Output},
    )
    def get(self, request: Request) -> Response:
        """What the board shows, oldest first: open tickets, and bumped ones of orders in the kitchen."""
        query = self.Filters(data=request.query_params)
        query.is_valid(raise_exception=True)
        slug = query.validated_data.get("station")
        station = None
        if slug is not None:
            station = Station.objects.filter(slug=slug, is_active=True).first()
            if station is None:
                raise NotFound("No such station.", code="station_not_found")
        # The clock first, as the board's snapshot does: a change in between shows in both.
        seq = board_seq()
        tickets = [t for t in board_tickets() if station is None or t.station_id == station.pk]
        return Response(
            self.Output(
                {
                    "seq": seq,
                    "stations": [station_state(s) for s in board_stations()],
                    "tickets": [ticket_state(t) for t in tickets],
                }
            ).data
        )


class TicketMoveApi(ApiView):
    permission_classes = (capable(Capability.COOK),)

    class Input(StrictInput):
        move = serializers.ChoiceField(choices=list(TICKET_MOVES))
        version = version_field(help_text="The ticket's version as you last read it.")

    @extend_schema(operation_id="kitchen_ticket_move", request=Input, responses={200: TicketOutput})
    def post(self, request: Request, ticket_id: int) -> Response:
        """Start, bump or recall a ticket; the order follows (first start, last bump, recall)."""
        data = self.Input(data=request.data)
        data.is_valid(raise_exception=True)
        ticket = ticket_move(
            ticket_id=ticket_id,
            move=data.validated_data["move"],
            actor=api_actor(request),
            expected_version=data.validated_data["version"],
        )
        return Response(TicketOutput(ticket_states([ticket.pk])[0]).data)


urlpatterns = [
    path("kitchen/tickets/", TicketListApi.as_view(), name="kitchen_tickets"),
    path("kitchen/tickets/<id:ticket_id>/move/", TicketMoveApi.as_view(), name="kitchen_ticket_move"),
]
