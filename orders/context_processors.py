from django.http import HttpRequest

from orders.cart import SessionCart


def cart(request: HttpRequest) -> dict[str, int]:
    session = getattr(request, "session", None)
    return {"cart_count": len(SessionCart(session)) if session is not None else 0}
