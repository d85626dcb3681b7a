"""Drive the customer's doors the way a browser does: real POSTs, real session."""

from __future__ import annotations

import re

from django.test import Client
from django.urls import reverse

from accounts.roles import Actor
from menu.models import MenuItem, ModifierOption
from orders.floor.links import table_link_token
from orders.floor.models import Table
from orders.models import Order
from orders.pacing.selectors import ASAP, Pickup
from orders.pricing import CartLine
from orders.services import OrderDetails, order_place

TOKEN_FIELD = re.compile(r'name="checkout_token" value="([0-9a-f]+)"')


def add_to_cart(
    client: Client, item: MenuItem, quantity: object = 1, options: list[ModifierOption] = (), **extra
):
    data: dict[str, object] = {"item": item.pk, "quantity": quantity, **extra}
    for option in options:
        data.setdefault(f"mod-{option.group_id}", [])
        data[f"mod-{option.group_id}"].append(option.pk)  # type: ignore[union-attr]
    return client.post(reverse("orders:cart_add"), data)


def checkout_token(client: Client) -> str:
    page = client.get(reverse("orders:checkout"))
    assert page.status_code == 200, page.status_code
    return TOKEN_FIELD.search(page.content.decode()).group(1)


def pickup_details(**overrides: object) -> dict[str, object]:
    return {
        "order_type": "pickup",
        "contact_name": "Ada Guest",
        "contact_email": "ada@example.test",
        "contact_phone": "",
        "table_number": "",
        "delivery_address": "",
        "special_instructions": "",
        **overrides,
    }


def checkout(client: Client, token: str | None = None, **details: object):
    token = token or checkout_token(client)
    return client.post(reverse("orders:checkout"), {"checkout_token": token, **pickup_details(**details)})


def apply_coupon(client: Client, code: object, **headers: object):
    """Types a code into the checkout's coupon field and presses Apply."""
    return client.post(reverse("orders:checkout_coupon"), {"code": code}, **headers)


def three_lines(menu) -> dict:
    """An order of three lines, with modifiers, for pickup."""
    return {
        "lines": [
            {"item": menu.burger.pk, "quantity": 1, "options": [menu.rare.pk, menu.bacon.pk]},
            {"item": menu.lemonade.pk, "quantity": 2, "options": [menu.large.pk]},
            {"item": menu.fries.pk, "quantity": 1},
        ],
        "order_type": "pickup",
        "contact_name": "Carla Diner",
        "contact_email": "carla@example.test",
    }


def scan_table(client: Client, table: Table):
    """Follows the link in the table's QR code, as a guest's phone camera does."""
    return client.get(reverse("orders:table_link", kwargs={"token": table_link_token(table)}))


def place(menu, *, pickup: Pickup = ASAP, quantity: int = 1) -> Order:  # type: ignore[no-untyped-def]
    """A guest's pickup order of fries, placed through the service (the pacing tests' order)."""
    order, _ = order_place(
        lines=[CartLine(menu.fries.pk, quantity)],
        details=OrderDetails(order_type="pickup", contact_name="Ada", contact_email="ada@example.test"),
        actor=Actor.guest(),
        pickup=pickup,
    )
    return order
