"""A night in the restaurant for the nightly inventory's tests: orders cooked, one cancelled behind the
pantry's back, food dropped, a coupon run out."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db.models import F
from django.utils import timezone

from accounts.roles import Actor, Role
from menu.models import StockMovement
from menu.pantry.services import stock_waste
from orders.coupons.models import Coupon
from orders.models import Order, OrderEvent, OrderStatus
from orders.pricing import CartLine
from orders.services import OrderDetails, order_place, order_transition
from tests.conftest import STOCKROOM, Pantry, SmallMenu
from tests.factories import CouponFactory

GUEST = Actor.guest()
TILL = Actor.system("test-till")
CHEF = Actor(label="chef@example.test", roles=frozenset({Role.CHEF}))


def tonight() -> date:
    return timezone.localdate()


def after(night: date, hour: int = 2) -> datetime:
    """That hour of the morning after the night, on the restaurant's clock: when beat runs."""
    return datetime.combine(night + timedelta(days=1), time(hour), tzinfo=ZoneInfo(settings.TIME_ZONE))


def place(*lines: CartLine) -> Order:
    order, _ = order_place(
        lines=list(lines),
        details=OrderDetails(order_type="pickup", contact_name="Ada", contact_email="ada@example.test"),
        actor=GUEST,
    )
    return order


def cook(order: Order) -> Order:
    order = order_transition(order=order, to_status=OrderStatus.PAID, actor=TILL)
    return order_transition(order=order, to_status=OrderStatus.IN_PREPARATION, actor=CHEF)


@dataclass
class Night:
    cooked: Order  # 2 burgers with cheese, cooking started
    left_holding: Order  # 1 fries, cancelled by a change that bypassed the pantry: still holds 200 g
    expired: Coupon  # past its valid-until, still on


def a_busy_night(menu: SmallMenu, pantry: Pantry) -> Night:
    """Tonight: 2 burgers with cheese cooked, 100 g of potatoes dropped, fries cancelled without a release.

    Afterwards on hand is 8 patties and buns (reorder point 10, par 100), 3 cheese
    slices, 1900 g of potatoes (reorder point 4000, par 20000).
    """
    cooked = cook(place(CartLine(menu.burger.pk, 2, (menu.medium.pk, menu.cheese.pk))))
    left_holding = place(CartLine(menu.fries.pk, 1))
    Order.objects.filter(pk=left_holding.pk).update(status=OrderStatus.CANCELLED)
    stock_waste(
        ingredient_id=pantry.potatoes.pk, quantity=100, unit="g", actor=STOCKROOM, reason="dropped a tray"
    )
    expired = CouponFactory(code="SUMMER", valid_until=timezone.now() - timedelta(minutes=1))
    return Night(cooked=cooked, left_holding=left_holding, expired=expired)


def all_a_day_earlier() -> None:
    """Moves what happened so far back one day (ledger, audit trail, orders, coupons' ends): for a test
    whose job reports last night, as a real one does, rather than tonight."""
    day = timedelta(days=1)
    StockMovement.objects.update(created_at=F("created_at") - day)
    OrderEvent.objects.update(created_at=F("created_at") - day)
    Order.objects.update(created_at=F("created_at") - day)
    Coupon.objects.filter(valid_until__isnull=False).update(valid_until=F("valid_until") - day)
