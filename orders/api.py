"""Orders over the API: place, list one's own, read one, cancel, start its payment.

Each door parses and authorizes, then calls the service the pages call:
placing is orders.checkout.order_checkout (priced from the menu, paced,
payment started, nothing half-made), cancelling order_cancel_by, paying
payment_start. Callers are people (an app's JWT, or a browser's session with
CSRF) and delivery partners (an API key), judged by the one matrix
(restaurant.api.permissions). Placing and starting a payment take an
`Idempotency-Key` (orders.idempotency).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from typing import Any

from django import forms
from django.core.validators import RegexValidator
from django.http.response import HttpResponseBase
from django.urls import path
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.pagination import CursorPagination
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.permissions import Capability, can
from accounts.roles import Actor
from menu.specials import specials_active
from orders.checkout import CheckoutStep, order_cancel_by, order_checkout
from orders.coupons.models import CODE_MAX_LENGTH, CODE_PATTERN, CODE_RULE
from orders.forms import PickupField
from orders.idempotency import KEY_MAX_LENGTH, IdempotentAnswer, idempotent
from orders.models import LINE_NOTE_MAX_LENGTH, SPECIAL_INSTRUCTIONS_MAX_LENGTH, Order, OrderType
from orders.online_ordering import ordering_closed, takes_orders_from
from orders.pacing.selectors import ASAP
from orders.payments.services import payment_start
from orders.pricing import CartLine
from orders.selectors import order_for_api, orders_for_api
from orders.services import OrderDetails
from restaurant.api.clients import ApiScope
from restaurant.api.permissions import api_actor, capable
from restaurant.api.serializers import StrictInput, id_field, version_field
from restaurant.api.views import ApiView
from restaurant.errors import ApplicationError, NotFound
from restaurant.forms import DATABASE_ID_MAX
from restaurant.validators import (
    refuse_invisible_controls,
    refuse_invisible_controls_multiline,
    validate_phone,
)

IDEMPOTENCY_HEADER = "Idempotency-Key"
_SANE_KEY = re.compile(rf"^[\x21-\x7e]{{1,{KEY_MAX_LENGTH}}}$")
# A bound on what is parsed at all; how many lines an order may hold is
# orders.pricing's rule (BRIGADE_MAX_CART_LINES), answered in its own words.
PARSED_LINES_MAX = 100
PARSED_OPTIONS_MAX = 20
# Quantities beyond this are not numbers an order could hold; pricing says
# what the real limit is (BRIGADE_MAX_LINE_QUANTITY).
PARSED_QUANTITY_MAX = 10_000

IDEMPOTENCY_PARAMETER = OpenApiParameter(
    IDEMPOTENCY_HEADER,
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    description="Any string of up to 255 visible ASCII characters, new for each new request (docs/api.md).",
)

# People (an app or a browser) and delivery partners with their capability.
PEOPLE_OR_PARTNERS = IsAuthenticated | capable(Capability.PLACE_PARTNER_ORDERS)
DINE_IN_BY_STAFF = (
    "Dine-in orders over the API are for the floor staff; a guest at a table orders from its QR code."
)


# ---------------------------------------------------------------- what an order looks like


class OrderLineOutput(serializers.Serializer[Any]):
    item = serializers.IntegerField(source="menu_item_id", allow_null=True)
    name = serializers.CharField()
    quantity = serializers.IntegerField()
    base_price_minor = serializers.IntegerField()
    unit_price_minor = serializers.IntegerField()
    line_total_minor = serializers.IntegerField()
    modifiers = serializers.ListField(child=serializers.DictField())
    note = serializers.CharField()


class OrderOutput(serializers.Serializer[Order]):
    number = serializers.IntegerField(source="pk")
    status = serializers.CharField()
    # Send it back with a cancel: a change someone made since is a 409, not a surprise.
    version = serializers.IntegerField()
    order_type = serializers.CharField()
    table_number = serializers.CharField()
    delivery_address = serializers.CharField()
    contact_name = serializers.CharField()
    special_instructions = serializers.CharField()
    currency = serializers.CharField()
    subtotal_minor = serializers.IntegerField()
    # A coupon's discount (0 without one): total = subtotal - discount.
    discount_minor = serializers.IntegerField()
    coupon_code = serializers.CharField(help_text="The coupon applied, as the order keeps it; empty if none.")
    total_minor = serializers.IntegerField()
    created_at = serializers.DateTimeField()
    promised_at = serializers.DateTimeField(allow_null=True)
    slot_starts_at = serializers.DateTimeField(allow_null=True)
    page_url = serializers.SerializerMethodField(
        help_text="The order's live page (it holds its tracking link)."
    )
    lines = OrderLineOutput(source="items", many=True)

    def get_page_url(self, order: Order) -> str:
        request = self.context.get("request")
        page = order.get_absolute_url()
        return request.build_absolute_uri(page) if request is not None else page


# ---------------------------------------------------------------- idempotency at the door


def _owner(actor: Actor) -> str:
    if actor.partner_id is not None:
        return f"partner:{actor.partner_id}"
    assert actor.user is not None  # PEOPLE_OR_PARTNERS let no one else in
    return f"user:{actor.user.pk}"


def _once(
    request: Request, *, actor: Actor, operation: str, run: Callable[[str], tuple[int, Any]]
) -> HttpResponseBase:
    """Runs `run` under the request's Idempotency-Key (or once, without one) and answers what it kept."""
    key = request.headers.get(IDEMPOTENCY_HEADER)
    if key is None:
        status, body = run(f"api-once:{uuid.uuid4().hex}")
        return Response(body, status=status)
    if not _SANE_KEY.match(key):
        raise ApplicationError(
            f"{IDEMPOTENCY_HEADER} is up to {KEY_MAX_LENGTH} visible ASCII characters.",
            code="invalid_idempotency_key",
        )
    answer: IdempotentAnswer = idempotent(
        owner=_owner(actor), operation=operation, key=key, body=request.data, run=run
    )
    response = Response(answer.body, status=answer.status)
    if answer.replayed:
        response["Idempotent-Replayed"] = "true"
    return response


# ---------------------------------------------------------------- the doors


class OrderCreateApi(ApiView):
    permission_classes = (PEOPLE_OR_PARTNERS,)
    required_scope = ApiScope.ORDERS_WRITE

    def get_rate_limit(self, request: Request) -> str | None:
        # The page's budget for people (switching doors buys nothing); partners order for many.
        return "partner_orders" if api_actor(request).partner_id is not None else "checkout"

    class Input(StrictInput):
        class Line(StrictInput):
            item = id_field()
            quantity = serializers.IntegerField(min_value=1, max_value=PARSED_QUANTITY_MAX)
            options = serializers.ListField(
                child=id_field(), max_length=PARSED_OPTIONS_MAX, required=False, default=list
            )
            note = serializers.CharField(
                max_length=LINE_NOTE_MAX_LENGTH,
                required=False,
                default="",
                allow_blank=True,
                validators=[refuse_invisible_controls],
                help_text="A note on this line for the station that cooks it (one line of text).",
            )

        lines = Line(many=True, allow_empty=False, max_length=PARSED_LINES_MAX)  # type: ignore[call-arg]
        order_type = serializers.ChoiceField(choices=OrderType.choices)
        contact_name = serializers.CharField(max_length=100, validators=[refuse_invisible_controls])
        contact_email = serializers.EmailField(max_length=254)
        contact_phone = serializers.CharField(
            max_length=32, required=False, default="", allow_blank=True, validators=[validate_phone]
        )
        table_number = serializers.CharField(
            max_length=10,
            required=False,
            default="",
            allow_blank=True,
            validators=[refuse_invisible_controls],
        )
        delivery_address = serializers.CharField(
            max_length=500,
            required=False,
            default="",
            allow_blank=True,
            validators=[refuse_invisible_controls_multiline],
        )
        special_instructions = serializers.CharField(
            max_length=SPECIAL_INSTRUCTIONS_MAX_LENGTH,
            required=False,
            default="",
            allow_blank=True,
            validators=[refuse_invisible_controls_multiline],
        )
        pickup_at = serializers.CharField(
            max_length=PickupField.MAX_LENGTH,
            required=False,
            default="asap",
            help_text='"asap" (the default), or the start of a pickup slot, ISO 8601 with its offset.',
        )
        coupon = serializers.CharField(
            max_length=CODE_MAX_LENGTH,
            required=False,
            default="",
            allow_blank=True,
            validators=[RegexValidator(CODE_PATTERN, CODE_RULE)],
            help_text="A coupon code, any case. Every reason it cannot apply is one and the same "
            "400 (coupon_refused), and tries spend the coupon budget as on the checkout page.",
        )

        def validate_pickup_at(self, value: str) -> Any:
            # The checkout page's own parsing; whether the slot is offered is pacing's to say.
            try:
                return PickupField().clean(value)
            except forms.ValidationError as error:
                raise serializers.ValidationError(PickupField.INVALID) from error

    class Output(serializers.Serializer[Any]):
        order = OrderOutput()
        next_step = serializers.ChoiceField(choices=[step.value for step in CheckoutStep])
        payment_url = serializers.CharField(
            allow_null=True, help_text="The provider's checkout page, where the customer pays."
        )

    @extend_schema(
        operation_id="order_create",
        request=Input,
        parameters=[IDEMPOTENCY_PARAMETER],
        responses={201: Output, 200: Output},
    )
    def post(self, request: Request) -> HttpResponseBase:
        """Places an order priced from the menu and starts its payment; 201, or 200 for one placed before."""
        if not takes_orders_from(request):  # reads .user: the API's caller, not the session's
            return ordering_closed(request._request)
        data = self.Input(data=request.data)
        data.is_valid(raise_exception=True)
        if data.validated_data["coupon"]:
            # A code tried over the API spends what a code tried on the page does.
            self.spend_rate_limit(request, "coupon")
        actor = api_actor(request)
        dine_in = data.validated_data["order_type"] == OrderType.DINE_IN
        if dine_in and not can(actor, Capability.WORK_THE_FLOOR):
            # A guest's table is the one whose QR code their browser followed (orders.floor);
            # an app or a partner holds no such link, so a table's order is the floor staff's.
            raise ApplicationError(DINE_IN_BY_STAFF, code="dine_in_by_staff")
        return _once(
            request,
            actor=actor,
            operation="order_create",
            run=lambda key: self._place(request, actor, data.validated_data, key),
        )

    def _place(self, request: Request, actor: Actor, data: dict[str, Any], key: str) -> tuple[int, Any]:
        result = order_checkout(
            lines=[
                CartLine(
                    item_id=line["item"],
                    quantity=line["quantity"],
                    option_ids=tuple(line["options"]),
                    note=line["note"],
                )
                for line in data["lines"]
            ],
            details=OrderDetails.from_data(data),
            actor=actor,
            idempotency_key=key,
            absolute_url=request.build_absolute_uri,
            pickup=data["pickup_at"] or ASAP,
            specials_allowed=specials_active(request._request, draw=False),
            coupon_code=data["coupon"],
        )
        output = self.Output(
            {
                "order": result.order,
                "next_step": result.next_step,
                # The sandbox's page is one of ours, named by its path; a provider's is absolute already.
                "payment_url": request.build_absolute_uri(result.next_url)
                if result.next_step == CheckoutStep.PAY_ONLINE
                else None,
            },
            context={"request": request},
        )
        return (200 if result.next_step == CheckoutStep.ALREADY_PLACED else 201), output.data


class OrderCursor(CursorPagination):
    # The primary key only grows: orders placed while a client pages come in
    # above its cursor, never into the pages it has not read yet.
    ordering = "-pk"
    page_size = 20
    page_size_query_param = "page_size"
    max_page_size = 100

    def decode_cursor(self, request: Request) -> Any:
        # DRF checks the offset, not the position, which goes straight into
        # pk__lt: a made-up "p=abc" would be a 500 instead of a 404.
        cursor = super().decode_cursor(request)
        position = cursor.position if cursor is not None else None
        if position is not None and (not str(position).isdigit() or int(position) > DATABASE_ID_MAX):
            raise NotFound(self.invalid_cursor_message)
        return cursor


class OrderListApi(ApiView):
    permission_classes = (PEOPLE_OR_PARTNERS,)
    required_scope = ApiScope.ORDERS_READ

    class Output(serializers.Serializer[Any]):
        next = serializers.URLField(allow_null=True)
        previous = serializers.URLField(allow_null=True)
        results = OrderOutput(many=True)

    @extend_schema(
        operation_id="order_list_mine",
        parameters=[
            OpenApiParameter("cursor", OpenApiTypes.STR, description="From `next` or `previous`."),
            OpenApiParameter("page_size", OpenApiTypes.INT, description="1 to 100; 20 by default."),
        ],
        responses={200: Output},
    )
    def get(self, request: Request) -> Response:
        """The caller's orders, newest first: a person's from their account, a partner's its own."""
        paginator = OrderCursor()
        page = paginator.paginate_queryset(orders_for_api(actor=api_actor(request)), request, view=self)
        return paginator.get_paginated_response(
            OrderOutput(page or [], many=True, context={"request": request}).data  # type: ignore[arg-type]
        )


def _visible_order(request: Request, number: int) -> Order:
    order = order_for_api(number=number, actor=api_actor(request))
    if order is None:
        raise NotFound("No such order.")
    return order


class OrderDetailApi(ApiView):
    permission_classes = (PEOPLE_OR_PARTNERS,)
    required_scope = ApiScope.ORDERS_READ

    @extend_schema(operation_id="order_read", responses={200: OrderOutput})
    def get(self, request: Request, number: int) -> Response:
        """One order: its status and version, lines, totals and promised time."""
        return Response(OrderOutput(_visible_order(request, number), context={"request": request}).data)


class OrderCancelApi(ApiView):
    # People only: the state machine says who may cancel what (orders.state).
    permission_classes = (IsAuthenticated,)
    rate_limit = "cancel"

    class Input(StrictInput):
        version = version_field(help_text="The order's version as you last read it.")
        reason = serializers.CharField(
            max_length=500, required=False, default="", allow_blank=True, help_text="Staff must give one."
        )

    @extend_schema(operation_id="order_cancel", request=Input, responses={200: OrderOutput})
    def post(self, request: Request, number: int) -> Response:
        """Calls the order off: unpaid, it is cancelled; paid online and not started, refunded in full."""
        order = _visible_order(request, number)
        data = self.Input(data=request.data)
        data.is_valid(raise_exception=True)
        order = order_cancel_by(
            order=order,
            actor=api_actor(request),
            reason=data.validated_data["reason"],
            expected_version=data.validated_data["version"],
        )
        return Response(OrderOutput(order, context={"request": request}).data)


class PaymentStartApi(ApiView):
    permission_classes = (PEOPLE_OR_PARTNERS,)
    required_scope = ApiScope.ORDERS_WRITE
    rate_limit = "payment"

    class Output(serializers.Serializer[Any]):
        payment_url = serializers.CharField(
            help_text="The provider's checkout page, where the customer pays."
        )

    @extend_schema(
        operation_id="order_payment_start",
        request=None,
        parameters=[IDEMPOTENCY_PARAMETER],
        responses={201: Output},
    )
    def post(self, request: Request, number: int) -> HttpResponseBase:
        """Opens a payment at the provider for what the order owes; 409 unless it awaits payment."""
        self.refuse_body(request)
        order = _visible_order(request, number)

        def start(_key: str) -> tuple[int, Any]:
            session = payment_start(
                order=order, return_url=request.build_absolute_uri(order.get_absolute_url())
            )
            return 201, self.Output({"payment_url": request.build_absolute_uri(session.redirect_url)}).data

        return _once(request, actor=api_actor(request), operation=f"payment_start:{order.pk}", run=start)


urlpatterns = [
    path("orders/", OrderCreateApi.as_view(), name="order_create"),
    path("orders/mine/", OrderListApi.as_view(), name="order_list_mine"),
    path("orders/<id:number>/", OrderDetailApi.as_view(), name="order_read"),
    path("orders/<id:number>/cancel/", OrderCancelApi.as_view(), name="order_cancel"),
    path("orders/<id:number>/payment/", PaymentStartApi.as_view(), name="order_payment_start"),
]
