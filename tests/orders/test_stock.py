"""Stock follows the order: reserved at checkout, released when it ends uncooked, used when cooking starts."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db.models import Sum
from django.urls import reverse
from django.utils import timezone

from accounts.roles import Actor
from menu.models import Ingredient, MovementKind, StockMovement
from orders.models import Order, OrderStatus
from orders.payments.base import PAYMENT_FAILED
from orders.payments.services import orders_expire_unpaid, payment_refund
from orders.pricing import CartLine
from orders.services import OrderDetails, order_place
from tests.concurrency import run_simultaneously
from tests.conftest import client_for, stock
from tests.factories import UserFactory
from tests.orders.flows import add_to_cart, checkout
from tests.orders.test_payment_webhooks import _event, _post

GUEST = Actor.guest()


def levels(*ingredients: Ingredient) -> list[tuple[Decimal, Decimal]]:
    """(on hand, reserved) of each ingredient as the database has them now."""
    fresh = Ingredient.objects.in_bulk([i.pk for i in ingredients])
    return [(fresh[i.pk].on_hand, fresh[i.pk].reserved) for i in ingredients]


def movements_of(order: Order) -> list[tuple[str, str, Decimal, Decimal]]:
    return [
        (m.ingredient.name, m.kind, m.on_hand_change, m.reserved_change)
        for m in StockMovement.objects.filter(order_id=order.pk).select_related("ingredient").order_by("pk")
    ]


def check_out_online(client, menu, *lines) -> Order:  # type: ignore[no-untyped-def]
    """Cart and checkout through the pages: the order waits for its payment at the sandbox."""
    for item, quantity, options in lines:
        assert add_to_cart(client, item, quantity, options).status_code == 302
    response = checkout(client)
    assert response.status_code == 302, response.content.decode()[:2000]
    return Order.objects.latest("pk")


def pay_online(client, order: Order) -> Order:  # type: ignore[no-untyped-def]
    payment = order.payments.latest("pk")
    assert _post(client, _event(payment)).status_code == 200
    order.refresh_from_db()
    assert order.status == OrderStatus.PAID
    return order


def burgers(client, menu, quantity: int = 2) -> Order:  # type: ignore[no-untyped-def]
    return check_out_online(client, menu, (menu.burger, quantity, [menu.medium, menu.cheese]))


# ---------------------------------------------------------------- reserving at checkout


def test_checkout_reserves_what_the_recipes_take_and_nothing_for_untracked_items(client, small_menu, pantry):
    order = check_out_online(
        client,
        small_menu,
        (small_menu.burger, 2, [small_menu.medium, small_menu.cheese]),
        (small_menu.fries, 3, []),
        (small_menu.lemonade, 1, [small_menu.large]),
    )

    assert order.status == OrderStatus.AWAITING_PAYMENT
    assert levels(pantry.patty, pantry.bun, pantry.cheese, pantry.potatoes) == [
        (10, 2),
        (10, 2),
        (5, 2),
        (2000, 600),
    ]
    assert sorted(movements_of(order)) == [
        ("Beef patty", MovementKind.RESERVATION, 0, 2),
        ("Brioche bun", MovementKind.RESERVATION, 0, 2),
        ("Cheddar slice", MovementKind.RESERVATION, 0, 2),
        ("Potatoes", MovementKind.RESERVATION, 0, 600),
    ]


def test_a_checkout_the_stock_cannot_cover_is_refused_naming_what_ran_out_and_nothing_is_made(
    client, small_menu, pantry
):
    # Given 5 cheese slices and a cart of 6 cheeseburgers
    added = add_to_cart(client, small_menu.burger, 6, [small_menu.medium, small_menu.cheese])
    assert added.status_code == 302

    response = checkout(client)

    # Then the checkout page says what ran out, as it shows every checkout error, and keeps the cart
    assert response.status_code == 409
    page = response.content.decode()
    assert "Sorry, we have run out of what Burger needs (cheddar slice)." in page
    assert Order.objects.count() == 0
    assert StockMovement.objects.exclude(kind=MovementKind.DELIVERY).count() == 0
    assert levels(pantry.patty, pantry.cheese) == [(10, 0), (5, 0)]
    assert "Burger" in client.get(reverse("orders:cart")).content.decode()


def test_the_refusal_names_every_item_and_ingredient_short(small_menu, pantry):
    from menu.pantry.services import OutOfStock

    with pytest.raises(OutOfStock) as refused:
        order_place(
            lines=[
                CartLine(small_menu.burger.pk, 11, (small_menu.rare.pk,)),
                CartLine(small_menu.fries.pk, 11),
            ],
            details=OrderDetails(order_type="pickup", contact_name="A", contact_email="a@example.test"),
            actor=GUEST,
        )
    assert refused.value.code == "out_of_stock" and refused.value.status == 409
    assert refused.value.data == {
        "items": ["Burger", "Fries"],
        "ingredients": ["Beef patty", "Brioche bun", "Potatoes"],
    }


# ---------------------------------------------------------------- every way an uncooked order ends


def test_a_customer_cancelling_an_unpaid_order_releases_its_stock(client, small_menu, pantry):
    order = burgers(client, small_menu)

    response = client.post(reverse("orders:cancel", args=[order.tracking_token]), {"version": order.version})

    assert response.status_code == 302
    order.refresh_from_db()
    assert order.status == OrderStatus.CANCELLED
    assert levels(pantry.patty, pantry.cheese) == [(10, 0), (5, 0)]
    assert [m[1:] for m in movements_of(order) if m[1] == MovementKind.RELEASE] == [
        (MovementKind.RELEASE, 0, -2),
        (MovementKind.RELEASE, 0, -2),
        (MovementKind.RELEASE, 0, -2),
    ]


def test_a_declined_payment_keeps_the_hold_while_the_order_waits_and_expiry_releases_it(
    client, small_menu, pantry, settings
):
    order = burgers(client, small_menu)

    # A decline leaves the order waiting for another try: its stock stays held
    assert _post(client, _event(order.payments.get(), PAYMENT_FAILED)).status_code == 200
    order.refresh_from_db()
    assert order.status == OrderStatus.AWAITING_PAYMENT
    assert levels(pantry.patty) == [(10, 2)]

    # Its payment time passes: the expiry sweep cancels it and gives the stock back
    later = timezone.now() + timedelta(minutes=settings.PAYMENT_TIMEOUT_MINUTES + 1)
    assert orders_expire_unpaid(now=later) == 1
    order.refresh_from_db()
    assert order.status == OrderStatus.CANCELLED
    assert levels(pantry.patty, pantry.bun, pantry.cheese) == [(10, 0), (10, 0), (5, 0)]
    releases = StockMovement.objects.filter(kind=MovementKind.RELEASE)
    assert {m.actor_label for m in releases} == {"system:expiry"}


def test_a_paid_order_called_off_before_cooking_releases_its_stock(client, small_menu, pantry):
    customer = UserFactory()
    signed_in = client_for(customer)
    order = pay_online(client, burgers(signed_in, small_menu))

    cancel_url = reverse("orders:cancel", args=[order.tracking_token])
    response = signed_in.post(cancel_url, {"version": order.version})

    assert response.status_code == 302
    order.refresh_from_db()
    assert order.status == OrderStatus.REFUNDED
    assert levels(pantry.patty, pantry.cheese) == [(10, 0), (5, 0)]
    assert MovementKind.WASTE not in {m[1] for m in movements_of(order)}


# ---------------------------------------------------------------- cooking


def _start(chef_client, order: Order):  # type: ignore[no-untyped-def]
    ticket = order.tickets.get()
    return chef_client.post(
        reverse("kitchen:ticket_move", args=[ticket.pk]),
        {"move": "start", "version": ticket.version},
        HTTP_ACCEPT="application/json",
    )


def test_the_first_start_of_cooking_uses_the_stock_and_a_recall_uses_nothing_more(
    client, small_menu, pantry, actors
):
    order = pay_online(client, burgers(client, small_menu))
    chef = client_for(actors.chef)

    assert _start(chef, order).status_code == 200

    order.refresh_from_db()
    assert order.status == OrderStatus.IN_PREPARATION
    assert levels(pantry.patty, pantry.bun, pantry.cheese) == [(8, 0), (8, 0), (3, 0)]
    used = [m for m in movements_of(order) if m[1] == MovementKind.USE]
    assert sorted(used) == [
        ("Beef patty", MovementKind.USE, -2, -2),
        ("Brioche bun", MovementKind.USE, -2, -2),
        ("Cheddar slice", MovementKind.USE, -2, -2),
    ]

    # Bumped, then recalled to preparation: it was cooked once
    ticket = order.tickets.get()
    bump = chef.post(
        reverse("kitchen:ticket_move", args=[ticket.pk]),
        {"move": "bump", "version": ticket.version},
        HTTP_ACCEPT="application/json",
    )
    assert bump.status_code == 200
    ticket.refresh_from_db()
    recall = chef.post(
        reverse("kitchen:ticket_move", args=[ticket.pk]),
        {"move": "recall", "version": ticket.version},
        HTTP_ACCEPT="application/json",
    )
    assert recall.status_code == 200
    order.refresh_from_db()
    assert order.status == OrderStatus.IN_PREPARATION
    assert levels(pantry.patty) == [(8, 0)]
    assert len([m for m in movements_of(order) if m[1] == MovementKind.USE]) == 3


def test_a_refund_after_cooking_gives_nothing_back_and_records_the_food_as_waste(
    client, small_menu, pantry, actors
):
    order = pay_online(client, burgers(client, small_menu))
    assert _start(client_for(actors.chef), order).status_code == 200

    payment_refund(
        payment_id=order.payments.get().pk,
        amount_minor=order.total_minor,
        actor=Actor.for_user(actors.manager),
        reason="burnt",
        idempotency_key="stock-refund-after-cooking",
    )

    order.refresh_from_db()
    assert order.status == OrderStatus.REFUNDED
    assert levels(pantry.patty, pantry.bun, pantry.cheese) == [(8, 0), (8, 0), (3, 0)]
    by_kind = dict(
        StockMovement.objects.filter(order_id=order.pk, ingredient=pantry.patty)
        .values_list("kind")
        .annotate(Sum("on_hand_change"))
    )
    # The use is undone and the same amount is waste: use counts only what was served
    assert by_kind == {MovementKind.RESERVATION: 0, MovementKind.USE: 0, MovementKind.WASTE: -2}
    assert not StockMovement.objects.filter(order_id=order.pk, kind=MovementKind.RELEASE).exists()


# ---------------------------------------------------------------- the rush for the last portions


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_hundred_buyers_of_the_last_fifty_burgers_make_exactly_fifty_orders(small_menu, pantry):
    # Given stock for exactly 50 burgers (buns are plentiful, patties are not)
    stock(pantry.patty, 40)  # 10 + 40
    stock(pantry.bun, 1000)
    buyers = [UserFactory() for _ in range(200)]

    def buy(user):  # type: ignore[no-untyped-def]
        return lambda: order_place(
            lines=[CartLine(small_menu.burger.pk, 1, (small_menu.medium.pk,))],
            details=OrderDetails(order_type="pickup", contact_name="A", contact_email=user.email),
            actor=Actor.for_user(user),
        )

    # When they all check out at once (as many at the same instant as the database takes connections)
    outcomes = run_simultaneously(*(buy(user) for user in buyers), workers=40)

    # Then 50 orders, 150 refusals that name the patty, no other error (a deadlock would be one)
    placed = [o for o in outcomes if isinstance(o, tuple)]
    refused = [o for o in outcomes if not isinstance(o, tuple)]
    assert len(placed) == 50
    assert {getattr(error, "code", repr(error)) for error in refused} == {"out_of_stock"}
    assert len(refused) == 150
    assert Order.objects.count() == 50
    patty = Ingredient.objects.get(pk=pantry.patty.pk)
    assert (patty.on_hand, patty.reserved, patty.available) == (50, 50, 0)
    assert StockMovement.objects.filter(kind=MovementKind.RESERVATION, ingredient=patty).count() == 50
