"""Every change to stock: one transaction each, the levels and their ledger rows written together.

Locks: the ingredient rows a change touches are locked with SELECT … FOR
UPDATE in primary-key order, so two orders sharing ingredients queue on the
first one they share and never deadlock; the levels are then written from the
locked rows. The check "is there enough" is made on the locked rows, so of 200
buyers of the last 50 portions exactly 50 get one. Placing an order reserves
last in its transaction, so the rows stay locked only until its commit.

Auto-86: the menu shows an item sold out while one portion of it cannot be
made from what is left (menu.cache reads menu.pantry.selectors). A change
that moves an ingredient's "available" across a recipe line's quantity
calls menu_changed() after it commits (the menu version, the kitchen's 86
list), and only such a change does, so a rush of orders neither rebuilds
the menu nor reaches the boards at every checkout.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from decimal import Decimal, InvalidOperation

from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.roles import Actor
from menu.cache import menu_changed
from menu.pantry.models import MAX_QUANTITY, QUANTITY_PLACES, Ingredient, MovementKind, StockMovement
from menu.pantry.selectors import (
    Need,
    Portion,
    availability_thresholds,
    recipe_needs,
    stock_held_for_order,
    stock_used_for_order,
)
from restaurant.errors import ApplicationError

logger = logging.getLogger(__name__)

ZERO = Decimal(0)
REASON_MAX_LENGTH = 500


class OutOfStock(ApplicationError):
    """What the order asks for is more than the pantry has left to reserve."""

    status = 409
    default_code = "out_of_stock"


# ---------------------------------------------------------------- shared steps


def _locked(ingredient_ids: Iterable[int]) -> dict[int, Ingredient]:
    # Primary-key order: every writer locks shared rows in the same order, so none waits in a circle.
    rows = Ingredient.objects.select_for_update().filter(pk__in=list(ingredient_ids)).order_by("pk")
    return {ingredient.pk: ingredient for ingredient in rows}


def _movement(
    *,
    ingredient: Ingredient,
    kind: MovementKind,
    actor: Actor,
    on_hand_change: Decimal = ZERO,
    reserved_change: Decimal = ZERO,
    order_id: int | None = None,
    reason: str = "",
    idempotency_key: str | None = None,
) -> StockMovement:
    return StockMovement(
        ingredient=ingredient,
        kind=kind,
        on_hand_change=on_hand_change,
        reserved_change=reserved_change,
        order_id=order_id,
        actor=actor.user,
        actor_label=actor.label[:150],
        reason=reason[:REASON_MAX_LENGTH],
        idempotency_key=idempotency_key or None,
    )


def _once(idempotency_key: str | None, record: Callable[[], StockMovement]) -> tuple[StockMovement, bool]:
    """Records a movement unless its key recorded one before; (movement, created)."""
    if idempotency_key and (done := StockMovement.objects.filter(idempotency_key=idempotency_key).first()):
        return done, False
    try:
        return record(), True
    except IntegrityError:
        # The same form sent twice at once: the other one's movement stands.
        if idempotency_key and (
            done := StockMovement.objects.filter(idempotency_key=idempotency_key).first()
        ):
            return done, False
        raise


def _write(ingredients: Sequence[Ingredient], movements: Sequence[StockMovement]) -> None:
    now = timezone.now()
    for ingredient in ingredients:
        ingredient.updated_at = now
    for movement in movements:
        movement.created_at = now
    Ingredient.objects.bulk_update(ingredients, ["on_hand", "reserved", "updated_at"])
    StockMovement.objects.bulk_create(movements)


def _menu_changed_if_crossed(changes: Sequence[tuple[int, Decimal, Decimal]]) -> None:
    """After commit, tells the menu it changed if an item or option became, or stopped being, makeable.

    That bumps the menu version and tells the menu's listeners (the
    kitchen's 86 list), both outside the order's transaction and its locks.

    `changes` are (ingredient id, available before, available after). One
    portion of a recipe line can be made while available >= its quantity, so
    the answer changed for exactly the lines whose quantity lies in
    (lower, higher]. Asked after commit, outside the rows' locks, so
    menu_changed() runs at once.
    """
    moved = [(pk, before, after) for pk, before, after in changes if before != after]
    if not moved:
        return

    def changed_if_crossed() -> None:
        thresholds = availability_thresholds(ingredient_ids=[pk for pk, _, _ in moved])
        for pk, before, after in moved:
            low, high = min(before, after), max(before, after)
            if any(low < quantity <= high for quantity in thresholds.get(pk, ())):
                menu_changed()
                return

    transaction.on_commit(changed_if_crossed, robust=True)


def _quantity(value: object, *, field: str = "quantity", allow_zero: bool = False) -> Decimal:
    """A quantity a person typed: a number, not negative, sensible in size and precision."""
    try:
        quantity = value if isinstance(value, Decimal) else Decimal(str(value))
    except (InvalidOperation, ValueError):
        raise ApplicationError("Enter a number.", code="quantity_invalid", data={"field": field}) from None
    if not quantity.is_finite():
        raise ApplicationError("Enter a number.", code="quantity_invalid", data={"field": field})
    if quantity < 0:
        raise ApplicationError(
            "The quantity cannot be negative.", code="quantity_negative", data={"field": field}
        )
    if quantity == 0 and not allow_zero:
        raise ApplicationError(
            "The quantity must be more than zero.", code="quantity_zero", data={"field": field}
        )
    if quantity > MAX_QUANTITY:
        raise ApplicationError(
            f"{quantity} is more than any one movement can be (at most {MAX_QUANTITY:,}). Check the number.",
            code="quantity_too_large",
            data={"field": field, "max": str(MAX_QUANTITY)},
        )
    if quantity != quantity.quantize(Decimal(1).scaleb(-QUANTITY_PLACES)):
        raise ApplicationError(
            f"Use at most {QUANTITY_PLACES} decimals.", code="quantity_too_precise", data={"field": field}
        )
    return quantity


def _check_unit(ingredient: Ingredient, unit: str) -> None:
    if unit != ingredient.unit:
        raise ApplicationError(
            f"{ingredient.name} is kept in {ingredient.get_unit_display()}, not {unit or 'no unit'}: "
            f"convert the quantity first.",
            code="wrong_unit",
            data={"field": "unit", "expected": ingredient.unit, "given": unit},
        )


def _one_locked(ingredient_id: int) -> Ingredient:
    locked = _locked([ingredient_id])
    if ingredient_id not in locked:
        raise ApplicationError("That ingredient does not exist.", code="unknown_ingredient")
    return locked[ingredient_id]


# ---------------------------------------------------------------- orders


def stock_reserve(*, order_id: int, portions: Sequence[Portion], actor: Actor) -> dict[int, Decimal]:
    """Holds what an order's portions take, or raises OutOfStock naming what ran out.

    Called inside order_place's transaction, as its last write: a refusal
    rolls the whole order back. Returns what was reserved per ingredient id
    (empty when nothing ordered has a recipe).
    """
    needs = recipe_needs(portions=portions)
    if not needs:
        return {}
    # No savepoint of its own: the order's transaction is undone whole when this refuses,
    # and the refusal is raised outside the block, which wrote nothing then.
    with transaction.atomic(savepoint=False):
        locked = _locked(needs)
        short = sorted(
            (locked[pk] for pk, need in needs.items() if locked[pk].available < need.quantity),
            key=lambda ingredient: ingredient.name,
        )
        if not short:
            _reserve(locked=locked, needs=needs, order_id=order_id, actor=actor)
    if short:
        items = sorted({name for ingredient in short for name in needs[ingredient.pk].names})
        ingredients = [ingredient.name for ingredient in short]
        raise OutOfStock(
            f"Sorry, we have run out of what {_and(items)} {'needs' if len(items) == 1 else 'need'} "
            f"({_and([name.lower() for name in ingredients])}). "
            "Take it out of your cart or choose something else.",
            data={"items": items, "ingredients": ingredients},
        )
    return {pk: need.quantity for pk, need in needs.items()}


def _reserve(
    *, locked: dict[int, Ingredient], needs: Mapping[int, Need], order_id: int, actor: Actor
) -> None:
    changes, movements = [], []
    for pk in sorted(needs):
        ingredient, quantity = locked[pk], needs[pk].quantity
        before = ingredient.available
        ingredient.reserved += quantity
        changes.append((pk, before, ingredient.available))
        movements.append(
            _movement(
                ingredient=ingredient,
                kind=MovementKind.RESERVATION,
                reserved_change=quantity,
                order_id=order_id,
                actor=actor,
                reason="order placed",
            )
        )
    _write(list(locked.values()), movements)
    _menu_changed_if_crossed(changes)


def _and(names: Sequence[str]) -> str:
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"


def _held_and_locked(order_id: int) -> tuple[dict[int, Decimal], dict[int, Ingredient]]:
    held = stock_held_for_order(order_id=order_id)
    if not held:
        return {}, {}
    locked = _locked(held)
    # Read again under the rows' locks: a second release of the same order (the
    # nightly sweep beside a cancel) then finds what the first one left.
    return stock_held_for_order(order_id=order_id), locked


def stock_release(*, order_id: int, actor: Actor, reason: str) -> dict[int, Decimal]:
    """Gives back what an order still holds (it ended uncooked); returns what was released.

    Idempotent: an order that holds nothing releases nothing.
    """
    with transaction.atomic():
        held, locked = _held_and_locked(order_id)
        if not held:
            return {}
        changes, movements = [], []
        for pk in sorted(held):
            ingredient, quantity = locked[pk], held[pk]
            before = ingredient.available
            ingredient.reserved -= quantity
            changes.append((pk, before, ingredient.available))
            movements.append(
                _movement(
                    ingredient=ingredient,
                    kind=MovementKind.RELEASE,
                    reserved_change=-quantity,
                    order_id=order_id,
                    actor=actor,
                    reason=reason,
                )
            )
        _write([locked[pk] for pk in sorted(held)], movements)
        _menu_changed_if_crossed(changes)
    logger.info("stock released", extra={"order_id": order_id, "ingredients": len(held)})
    return held


def stock_use(*, order_id: int, actor: Actor) -> dict[int, Decimal]:
    """The order's cooking started: what it holds leaves the pantry. Idempotent (a recall uses nothing more).

    What is left to sell does not change (it was reserved), so the menu does not either.
    """
    with transaction.atomic():
        held, locked = _held_and_locked(order_id)
        if not held:
            return {}
        movements = []
        for pk in sorted(held):
            ingredient, quantity = locked[pk], held[pk]
            ingredient.on_hand -= quantity
            ingredient.reserved -= quantity
            movements.append(
                _movement(
                    ingredient=ingredient,
                    kind=MovementKind.USE,
                    on_hand_change=-quantity,
                    reserved_change=-quantity,
                    order_id=order_id,
                    actor=actor,
                    reason="cooking started",
                )
            )
        _write([locked[pk] for pk in sorted(held)], movements)
    return held


def stock_waste_cooked(*, order_id: int, actor: Actor, reason: str) -> dict[int, Decimal]:
    """An order refunded after its cooking started: what it used was not served, it is waste.

    Nothing goes back on the shelf. The use is undone (on hand +) and the same
    quantity recorded as waste (on hand −), so on hand stays as it is while use
    counts only what was served. Anything the order still held is released.
    Idempotent. Returns what was recorded as waste.
    """
    with transaction.atomic():
        stock_release(order_id=order_id, actor=actor, reason=reason)
        used = stock_used_for_order(order_id=order_id)
        if not used:
            return {}
        locked = _locked(used)
        used = stock_used_for_order(order_id=order_id)
        movements = []
        for pk in sorted(used):
            for kind, change in ((MovementKind.USE, used[pk]), (MovementKind.WASTE, -used[pk])):
                movements.append(
                    _movement(
                        ingredient=locked[pk],
                        kind=kind,
                        on_hand_change=change,
                        order_id=order_id,
                        actor=actor,
                        reason=f"refunded after cooking: {reason}" if reason else "refunded after cooking",
                    )
                )
        _write([locked[pk] for pk in sorted(used)], movements)
    return used


# ---------------------------------------------------------------- the pantry's own movements


def stock_deliver(
    *,
    ingredient_id: int,
    quantity: object,
    unit: str,
    actor: Actor,
    reason: str = "",
    idempotency_key: str | None = None,
) -> tuple[StockMovement, bool]:
    """Stock arrived: on hand goes up by `quantity` (in the ingredient's unit).

    Returns (movement, created); a key that recorded a movement before returns that one.
    """
    amount = _quantity(quantity)
    return _once(
        idempotency_key,
        lambda: _deliver(ingredient_id, amount, unit=unit, actor=actor, reason=reason, key=idempotency_key),
    )


def _deliver(
    ingredient_id: int, amount: Decimal, *, unit: str, actor: Actor, reason: str, key: str | None
) -> StockMovement:
    with transaction.atomic():
        ingredient = _one_locked(ingredient_id)
        _check_unit(ingredient, unit)
        before = ingredient.available
        ingredient.on_hand += amount
        movement = _movement(
            ingredient=ingredient,
            kind=MovementKind.DELIVERY,
            on_hand_change=amount,
            actor=actor,
            reason=reason.strip() or "delivery",
            idempotency_key=key,
        )
        _write([ingredient], [movement])
        _menu_changed_if_crossed([(ingredient.pk, before, ingredient.available)])
    logger.info("stock delivered", extra={"ingredient_id": ingredient_id, "actor": actor.label})
    return movement


def stock_waste(
    *,
    ingredient_id: int,
    quantity: object,
    unit: str,
    actor: Actor,
    reason: str,
    idempotency_key: str | None = None,
) -> tuple[StockMovement, bool]:
    """Stock thrown away (spoiled, dropped): on hand goes down. A reason is required.

    Returns (movement, created), as stock_deliver.
    """
    amount = _quantity(quantity)
    reason = reason.strip()
    if not reason:
        raise ApplicationError(
            "Say why it was thrown away.", code="reason_required", data={"field": "reason"}
        )
    return _once(
        idempotency_key,
        lambda: _waste(ingredient_id, amount, unit=unit, actor=actor, reason=reason, key=idempotency_key),
    )


def _waste(
    ingredient_id: int, amount: Decimal, *, unit: str, actor: Actor, reason: str, key: str | None
) -> StockMovement:
    with transaction.atomic():
        ingredient = _one_locked(ingredient_id)
        _check_unit(ingredient, unit)
        if amount > ingredient.on_hand:
            raise ApplicationError(
                f"Only {ingredient.on_hand} {ingredient.unit} of {ingredient.name} is on hand: "
                "more cannot be thrown away. Count it if the level is wrong.",
                code="waste_exceeds_stock",
                data={"field": "quantity", "on_hand": str(ingredient.on_hand)},
            )
        before = ingredient.available
        ingredient.on_hand -= amount
        movement = _movement(
            ingredient=ingredient,
            kind=MovementKind.WASTE,
            on_hand_change=-amount,
            actor=actor,
            reason=reason,
            idempotency_key=key,
        )
        _write([ingredient], [movement])
        _menu_changed_if_crossed([(ingredient.pk, before, ingredient.available)])
    logger.info("stock wasted", extra={"ingredient_id": ingredient_id, "actor": actor.label})
    return movement


def stock_count(
    *,
    ingredient_id: int,
    counted: object,
    unit: str,
    actor: Actor,
    reason: str = "",
    idempotency_key: str | None = None,
) -> tuple[StockMovement, bool]:
    """A stock count: on hand becomes what was counted, by a correction movement of the difference.

    A count that agrees is recorded too (a correction of zero): it says when
    the level was last checked. A count below what is reserved is the truth
    and is recorded; the items it leaves short show sold out. Returns
    (movement, created), as stock_deliver.
    """
    amount = _quantity(counted, field="counted", allow_zero=True)
    return _once(
        idempotency_key,
        lambda: _count(ingredient_id, amount, unit=unit, actor=actor, reason=reason, key=idempotency_key),
    )


def _count(
    ingredient_id: int, amount: Decimal, *, unit: str, actor: Actor, reason: str, key: str | None
) -> StockMovement:
    with transaction.atomic():
        ingredient = _one_locked(ingredient_id)
        _check_unit(ingredient, unit)
        before = ingredient.available
        correction = amount - ingredient.on_hand
        ingredient.on_hand = amount
        movement = _movement(
            ingredient=ingredient,
            kind=MovementKind.COUNT_CORRECTION,
            on_hand_change=correction,
            actor=actor,
            reason=reason.strip() or f"counted {amount} {ingredient.unit}",
            idempotency_key=key,
        )
        _write([ingredient], [movement])
        _menu_changed_if_crossed([(ingredient.pk, before, ingredient.available)])
    logger.info("stock counted", extra={"ingredient_id": ingredient_id, "actor": actor.label})
    return movement
