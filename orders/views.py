"""Cart, checkout and order pages. Doors only: parse, call a service, render."""

from __future__ import annotations

import functools
import re
import secrets
from datetime import datetime, tzinfo

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from accounts.models import Address
from accounts.permissions import Capability, can
from accounts.roles import Actor
from accounts.selectors import default_address_for
from menu.pages import item_page, menu_page
from menu.selectors import menu_current
from menu.specials import specials_active
from orders.cart import SessionCart, cart_reorder
from orders.checkout import CheckoutStep, order_cancel_by, order_checkout
from orders.coupons.selectors import COUPON_REFUSED, CouponQuote, coupon_quote
from orders.coupons.services import CouponRefused
from orders.floor.links import session_table, session_table_forget
from orders.floor.models import Table
from orders.floor.selectors import table_for_link
from orders.forms import (
    AddToCartForm,
    CancelOrderForm,
    CartLineForm,
    CartRemoveForm,
    CheckoutForm,
    CouponCodeForm,
)
from orders.models import Order, OrderStatus, OrderType
from orders.online_ordering import online_ordering_required
from orders.pacing.selectors import Quote, pacing_quote
from orders.pricing import CartLine, PricedLine
from orders.progress import OFF_THE_WAY, progress_steps
from orders.selectors import order_for_viewer, orders_of_customer
from orders.services import OrderDetails
from restaurant.error_views import error_json, wants_json
from restaurant.errors import ApplicationError
from restaurant.rate_limits import rate_limited

CHECKOUT_TOKENS_KEY = "checkout_tokens"
CHECKOUT_TOKENS_KEPT = 20
# The orders this session placed, newest last: a guest's unpaid ones count
# against BRIGADE_MAX_UNPAID_ORDERS_PER_GUEST (orders.checkout).
PLACED_ORDERS_KEY = "placed_orders"
PLACED_ORDERS_KEPT = 20
# The coupon code applied at checkout (the coupon door): placing the order checks it again.
COUPON_KEY = "checkout_coupon"


def delivery_address_text(address: Address | None) -> str:
    """An address as the checkout's delivery address: one line, then the instructions.

    The instructions (gate code, floor) are left out only when both together
    would not fit an order's delivery address.
    """
    if address is None:
        return ""
    text = address.one_line()
    with_instructions = f"{text}\n{address.instructions}" if address.instructions else text
    limit = Order._meta.get_field("delivery_address").max_length
    return with_instructions if limit is None or len(with_instructions) <= limit else text


def _actor(request: HttpRequest) -> Actor:
    return Actor.for_user(request.user) if request.user.is_authenticated else Actor.guest()


def _form_errors(form) -> list[str]:
    return [str(message) for messages_ in form.errors.values() for message in messages_]


def _cart(request: HttpRequest) -> SessionCart:
    """The visitor's cart, priced against the menu snapshot the specials flag is read from too."""
    menu = menu_current()
    # Never a new draw from the cart or checkout: the visitor's draw is made on the menu.
    specials = specials_active(request, draw=False, menu=menu)
    return SessionCart(request.session, specials_allowed=specials, menu=menu)


def _cart_context(request: HttpRequest, cart: SessionCart | None = None) -> dict[str, object]:
    if cart is None:
        cart = _cart(request)
    entries = cart.lines()
    rows = []
    priced_each = cart.priced_each([line for _, line in entries])
    for (line_id, _line), priced in zip(entries, priced_each, strict=True):
        if isinstance(priced, PricedLine):
            rows.append({"id": line_id, "priced": priced, "error": None})
        else:
            rows.append({"id": line_id, "priced": None, "error": priced.message})
    return {
        "rows": rows,
        "subtotal_minor": sum(row["priced"].line_total_minor for row in rows if row["priced"]),  # type: ignore[attr-defined]
        "has_problems": any(row["error"] for row in rows),
    }


def _cart_refused(request: HttpRequest, code: str, errors: list[str]) -> HttpResponse | None:
    """The stable JSON error body for a program; None for a browser, which gets the page again."""
    if wants_json(request):
        return error_json(400, code, " ".join(errors))
    return None


@require_POST
@online_ordering_required
@rate_limited("cart")
def cart_add(request: HttpRequest) -> HttpResponseBase:
    form = AddToCartForm(request.POST)
    cart = _cart(request)
    errors: list[str] = []
    if form.is_valid():
        line = CartLine(
            item_id=form.cleaned_data["item"],
            quantity=form.cleaned_data["quantity"],
            option_ids=tuple(form.cleaned_data["options"]),
            note=form.cleaned_data["note"],
        )
        try:
            priced = cart.add(line)
        except ApplicationError as error:
            errors.append(error.message)
        else:
            messages.success(request, f"Added {line.quantity} × {priced.item.name} to your cart.")
            return redirect("menu:index")
    else:
        errors = _form_errors(form)
    if refused := _cart_refused(request, "invalid_form" if form.errors else "invalid_line", errors):
        return refused

    item = cart.menu.item_by_pk(form.cleaned_data.get("item") or 0)
    if item:
        try:
            return item_page(request, slug=item.slug, errors=errors, status=400)
        except Http404:
            pass  # not on this visitor's menu (a special without the flag): as an unknown item
    return menu_page(request, errors=errors, status=400)


@require_safe
def cart_view(request: HttpRequest) -> HttpResponse:
    return render(request, "orders/cart.html", _cart_context(request))


@require_POST
@online_ordering_required
@rate_limited("cart")
def cart_update(request: HttpRequest) -> HttpResponse:
    form = CartLineForm(request.POST)
    cart = _cart(request)
    try:
        if not form.is_valid():
            raise ApplicationError(" ".join(_form_errors(form)), code="invalid_form")
        cart.set_quantity(
            form.cleaned_data["line"],
            form.cleaned_data["quantity"],
            form.cleaned_data["note"] if "note" in request.POST else None,
        )
    except ApplicationError as error:
        if refused := _cart_refused(request, error.code, [error.message]):
            return refused
        return render(
            request,
            "orders/cart.html",
            {**_cart_context(request, cart), "errors": [error.message]},
            status=400,
        )
    messages.success(request, "Cart updated.")
    return redirect("orders:cart")


@require_POST
@online_ordering_required
@rate_limited("cart")
def cart_remove(request: HttpRequest) -> HttpResponse:
    form = CartRemoveForm(request.POST)
    try:
        if not form.is_valid():
            raise ApplicationError(" ".join(_form_errors(form)), code="invalid_form")
        SessionCart(request.session).remove(form.cleaned_data["line"])
    except ApplicationError as error:
        if refused := _cart_refused(request, error.code, [error.message]):
            return refused
        return render(
            request, "orders/cart.html", {**_cart_context(request), "errors": [error.message]}, status=400
        )
    messages.success(request, "Removed from your cart.")
    return redirect("orders:cart")


def _issue_checkout_token(request: HttpRequest) -> str:
    token = secrets.token_hex(16)
    tokens = [t for t in request.session.get(CHECKOUT_TOKENS_KEY, []) if isinstance(t, str)]
    request.session[CHECKOUT_TOKENS_KEY] = [*tokens, token][-CHECKOUT_TOKENS_KEPT:]
    return token


def _placed_orders(request: HttpRequest) -> list[int]:
    return [pk for pk in request.session.get(PLACED_ORDERS_KEY, []) if isinstance(pk, int)]


def _applied_code(request: HttpRequest) -> str:
    code = request.session.get(COUPON_KEY, "")
    return code if isinstance(code, str) else ""


def _applied_coupon(request: HttpRequest, subtotal_minor: int, errors: list[str]) -> CouponQuote | None:
    """The applied code's discount on the cart as it is now; a code that stopped applying is dropped."""
    code = _applied_code(request)
    if not code:
        return None
    user_id = request.user.pk if request.user.is_authenticated else None
    applied = coupon_quote(code=code, subtotal_minor=subtotal_minor, customer_id=user_id)
    if applied is None:
        request.session.pop(COUPON_KEY, None)
        if COUPON_REFUSED not in errors:
            errors.append(COUPON_REFUSED)
    return applied


def _checkout_page(
    request: HttpRequest,
    form: CheckoutForm,
    errors: list[str],
    *,
    shopping: SessionCart,
    status: int = 200,
    coupon_form: CouponCodeForm | None = None,
) -> HttpResponse:
    # The ready time and the slots are quoted for what is in the cart now.
    quote = pacing_quote(items=len(shopping))
    chosen = form["when"].value()
    if isinstance(chosen, datetime):  # a form made again from cleaned data holds the slot itself
        chosen = chosen.isoformat()
    cart = _cart_context(request, shopping)
    errors = list(errors)
    coupon = _applied_coupon(request, int(cart["subtotal_minor"]), errors)  # type: ignore[call-overload]
    discount = coupon.discount_minor if coupon else 0
    context = {
        **cart,
        "form": form,
        "errors": errors,
        "quote": quote,
        "asap_chosen": chosen in ("asap", "", None),
        "pickup_slots": _pickup_slots(quote, chosen),
        "coupon": coupon,
        "coupon_form": coupon_form or CouponCodeForm(),
        "total_minor": int(cart["subtotal_minor"]) - discount,  # type: ignore[call-overload]
    }
    return render(request, "orders/checkout.html", context, status=status)


def _link_table(request: HttpRequest) -> Table | None:
    """The table whose QR code this visitor followed, if it still takes orders from that code."""
    remembered = session_table(request.session)
    if remembered is None:
        return None
    table = table_for_link(link=remembered)
    if table is None:
        # Retired, or its code replaced since: the guest scans the code on the table again.
        session_table_forget(request.session)
    return table


def _checkout_form(
    request: HttpRequest, data: object = None, *, initial: dict[str, object] | None = None
) -> CheckoutForm:
    return CheckoutForm(
        data,
        initial=initial,
        takes_tables=can(_actor(request), Capability.WORK_THE_FLOOR),
        link_table=_link_table(request),
    )


def _checkout_initial(request: HttpRequest) -> dict[str, object]:
    initial: dict[str, object] = {"checkout_token": _issue_checkout_token(request), "order_type": "pickup"}
    if table := _link_table(request):
        # Came by the table's QR code: dine in there, unless the guest picks otherwise.
        initial |= {"order_type": OrderType.DINE_IN, "table_number": table.label}
    if request.user.is_authenticated:
        initial |= {
            "contact_name": request.user.get_full_name(),
            "contact_email": request.user.email,
            "contact_phone": request.user.phone,
            "delivery_address": delivery_address_text(default_address_for(user=request.user)),
        }
    return initial


def _pickup_slots(quote: Quote, chosen: object) -> list[tuple[str, str, bool]]:
    """The later slots as (value, label, selected), formatted here rather than in the template.

    A checkout offers up to two days of quarter-hours; the template's date
    filters cost a third of the page's time for them.
    """
    zone = timezone.get_current_timezone()
    slots = []
    for offer in quote.open_slots:
        value, label = _slot_option(offer.starts_at, zone)
        slots.append((value, label, value == chosen))
    return slots


# Every checkout offers the same quarter-hours until they pass: each is formatted once.
@functools.lru_cache(maxsize=1024)
def _slot_option(starts_at: datetime, zone: tzinfo) -> tuple[str, str]:
    local = timezone.localtime(starts_at, zone)
    return starts_at.isoformat(), f"{local:%a} {local.day} {local:%b}, {local:%H:%M}"


@require_http_methods(["GET", "HEAD", "POST"])
@online_ordering_required
@rate_limited("checkout")
def checkout(request: HttpRequest) -> HttpResponse:
    cart = _cart(request)
    if request.method in ("GET", "HEAD"):
        if not len(cart):
            messages.info(request, "Your cart is empty: add something from the menu first.")
            return redirect("orders:cart")
        form = _checkout_form(request, initial=_checkout_initial(request))
        return _checkout_page(request, form, [], shopping=cart)

    form = _checkout_form(request, request.POST)
    if not form.is_valid():
        return _checkout_page(request, form, _form_errors(form), status=400, shopping=cart)
    data = form.cleaned_data
    if data["checkout_token"] not in request.session.get(CHECKOUT_TOKENS_KEY, []):
        form = _checkout_form(request, initial={**data, "checkout_token": _issue_checkout_token(request)})
        expired = ["This checkout form has expired. Check your order and send it again."]
        return _checkout_page(request, form, expired, status=400, shopping=cart)
    details = OrderDetails.from_data(data)
    try:
        result = order_checkout(
            lines=cart.cart_lines(),
            details=details,
            actor=_actor(request),
            idempotency_key=data["checkout_token"],
            absolute_url=request.build_absolute_uri,
            visitor_order_ids=_placed_orders(request),
            pickup=data["when"],
            specials_allowed=cart.specials_allowed,
            coupon_code=_applied_code(request),
        )
    except ApplicationError as error:
        if isinstance(error, CouponRefused):
            # Used up or gone since it was applied: the page shows the total without it.
            request.session.pop(COUPON_KEY, None)
        if "cancelled_order" in error.data:
            # The token made an order that is gone now: the next try needs a fresh one.
            form = _checkout_form(request, initial={**data, "checkout_token": _issue_checkout_token(request)})
            # SessionMiddleware saves nothing on a 5xx answer, and this one is a 503:
            # without saving here the fresh token would be refused as expired.
            request.session.save()
        return _checkout_page(request, form, [error.message], status=error.status, shopping=cart)
    if not result.keep_cart:
        cart.clear()
        request.session.pop(COUPON_KEY, None)
        request.session[PLACED_ORDERS_KEY] = [*_placed_orders(request), result.order.pk][-PLACED_ORDERS_KEPT:]
    if result.next_step == CheckoutStep.ON_TAB:
        messages.success(
            request,
            f"Order {result.order.number} is on the tab of {result.order.where()} and at the kitchen.",
        )
    return redirect(result.next_url)


@require_POST
@online_ordering_required
@rate_limited("coupon")
def checkout_coupon(request: HttpRequest) -> HttpResponse:
    """Applies a coupon code to the checkout: the door a code guesser meets, behind its own budget."""
    form = CouponCodeForm(request.POST)
    cart = _cart(request)
    if form.is_valid():
        subtotal = int(_cart_context(request, cart)["subtotal_minor"])  # type: ignore[call-overload]
        user_id = request.user.pk if request.user.is_authenticated else None
        applied = coupon_quote(code=form.cleaned_data["code"], subtotal_minor=subtotal, customer_id=user_id)
        if applied is not None:
            request.session[COUPON_KEY] = applied.code
            messages.success(request, f"Code {applied.code} applied: {applied.offer}.")
            return redirect("orders:checkout")
        error = ApplicationError(COUPON_REFUSED, code=CouponRefused.default_code)
    else:
        error = ApplicationError(" ".join(_form_errors(form)), code="invalid_form")
    # Nothing changes: a code applied before stays applied.
    if wants_json(request):
        return error_json(400, error.code, error.message)
    form_again = _checkout_form(request, initial=_checkout_initial(request))
    return _checkout_page(request, form_again, [error.message], status=400, coupon_form=form, shopping=cart)


@require_POST
@online_ordering_required
@rate_limited("cart")
def checkout_coupon_remove(request: HttpRequest) -> HttpResponse:
    request.session.pop(COUPON_KEY, None)
    messages.info(request, "Coupon code removed.")
    return redirect("orders:checkout")


# What new_tracking_token makes (URL-safe base64); anything else is no order's link. Checked
# before the database sees it: PostgreSQL refuses a NUL in a query, a 500 instead of a 404.
TRACKING_TOKEN = re.compile(r"[A-Za-z0-9_-]{1,64}")


def _viewable_order(request: HttpRequest, token: str) -> Order:
    if not TRACKING_TOKEN.fullmatch(token):
        raise Http404("No such order.")
    order = order_for_viewer(tracking_token=token, user=request.user)
    if order is None:
        raise Http404("No such order.")
    return order


def _detail_context(order: Order, **extra: object) -> dict[str, object]:
    return {
        "order": order,
        "progress": progress_steps(order.status),
        "progress_hidden": order.status in OFF_THE_WAY,
        **extra,
    }


@require_safe
def order_detail(request: HttpRequest, token: str) -> HttpResponse:
    order = _viewable_order(request, token)
    return render(request, "orders/detail.html", _detail_context(order))


@require_POST
@rate_limited("cancel")
def order_cancel_view(request: HttpRequest, token: str) -> HttpResponse:
    order = _viewable_order(request, token)
    form = CancelOrderForm(request.POST)
    try:
        if not form.is_valid():
            raise ApplicationError(" ".join(_form_errors(form)), code="invalid_form")
        order = order_cancel_by(
            order=order,
            actor=_actor(request),
            reason=form.cleaned_data["reason"],
            expected_version=form.cleaned_data["version"],
        )
    except ApplicationError as error:
        order.refresh_from_db()
        context = _detail_context(order, errors=[error.message])
        return render(request, "orders/detail.html", context, status=error.status)
    done = "cancelled; your money is on its way back" if order.status == OrderStatus.REFUNDED else "cancelled"
    messages.success(request, f"Order {order.number} is {done}.")
    return redirect(order)


@login_required
@require_POST
@online_ordering_required
@rate_limited("cart")
def order_again(request: HttpRequest, token: str) -> HttpResponse:
    """My orders' "Order again": the customer's own order only; anyone else's is not found."""
    order = None
    if TRACKING_TOKEN.fullmatch(token):
        order = Order.objects.filter(tracking_token=token, customer_id=request.user.pk).first()
    if order is None:
        raise Http404("No such order.")
    result = cart_reorder(cart=_cart(request), order=order)
    if result.added:
        messages.success(
            request,
            f"Added {len(result.added)} line{'s' if len(result.added) != 1 else ''} "
            f"of order {order.number} to your cart, at today's prices.",
        )
    if result.unavailable:
        messages.warning(request, "No longer available: " + "; ".join(result.unavailable) + ".")
    for refused in result.refused:
        messages.error(request, refused)
    return redirect("orders:cart")


@login_required
@require_safe
def my_orders(request: HttpRequest) -> HttpResponse:
    return render(request, "orders/mine.html", {"orders": orders_of_customer(user=request.user)})  # type: ignore[arg-type]
