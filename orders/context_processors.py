from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject

from menu.cache import menu_version_current
from orders.cart import SessionCart
from orders.coupons.selectors import coupon_advertised
from orders.floor.links import SessionTable, session_table
from orders.models import LINE_NOTE_MAX_LENGTH
from orders.online_ordering import CLOSED_MESSAGE, online_ordering_on, takes_orders_from


def cart(request: HttpRequest) -> dict[str, int]:
    session = getattr(request, "session", None)
    return {
        "cart_count": len(SessionCart(session)) if session is not None else 0,
        # The item page (menu, below orders) and the cart bound a line's note alike.
        "line_note_max": LINE_NOTE_MAX_LENGTH,
    }


def online_ordering(request: HttpRequest) -> dict[str, object]:
    # Lazy: asked only by the pages that show the banner or an order button.
    return {
        # "off" rather than "on": a page rendered without this processor
        # (the 500 page) must not show the banner.
        "online_ordering_off": SimpleLazyObject(lambda: not online_ordering_on(request)),
        "takes_orders": SimpleLazyObject(lambda: takes_orders_from(request)),
        "ordering_closed_message": CLOSED_MESSAGE,
    }


def coupon_banner(request: HttpRequest) -> dict[str, object]:
    # Lazy, and kept per menu version in the process: a page that shows the banner
    # pays one read of the version, and one query per process when that moves.
    return {"coupon_banner": SimpleLazyObject(lambda: coupon_advertised(menu_version=menu_version_current()))}


def dine_in_table(request: HttpRequest) -> dict[str, SessionTable | None]:
    # The session as it is, no query: the checkout checks the table is still in service.
    return {"dine_in_table": session_table(getattr(request, "session", None))}
