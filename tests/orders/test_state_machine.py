"""One state machine owns the order's status: who may move it where, and races."""

from __future__ import annotations

import pytest

from accounts.roles import Actor
from orders import state
from orders.models import Order, OrderEvent, OrderStatus
from orders.pricing import CartLine
from orders.services import OrderDetails, order_cancel, order_place, order_transition
from restaurant.errors import Conflict, Forbidden
from tests.concurrency import run_simultaneously

S = OrderStatus


def _place(menu, user=None) -> Order:
    order, _ = order_place(
        lines=[CartLine(menu.fries.pk, 1)],
        details=OrderDetails(order_type="pickup", contact_name="A", contact_email="a@example.test"),
        actor=Actor.for_user(user) if user else Actor.guest(),
    )
    return order


def _walk(order: Order, actors, *statuses: str) -> Order:
    by = {
        S.PAID: actors.waiter,
        S.IN_PREPARATION: actors.chef,
        S.READY: actors.chef,
        S.COMPLETED: actors.waiter,
    }
    for status in statuses:
        order = order_transition(order=order, to_status=status, actor=Actor.for_user(by[status]))
    return order


@pytest.mark.django_db
def test_the_happy_path_records_every_change_with_its_actor(actors, small_menu):
    order = _walk(_place(small_menu, actors.customer), actors, S.PAID, S.IN_PREPARATION, S.READY, S.COMPLETED)

    trail = list(
        OrderEvent.objects.filter(order=order).values_list("from_status", "to_status", "actor_label")
    )
    assert trail == [
        ("", S.AWAITING_PAYMENT, actors.customer.email),
        (S.AWAITING_PAYMENT, S.PAID, actors.waiter.email),
        (S.PAID, S.IN_PREPARATION, actors.chef.email),
        (S.IN_PREPARATION, S.READY, actors.chef.email),
        (S.READY, S.COMPLETED, actors.waiter.email),
    ]
    assert order.version == 5


@pytest.mark.django_db
def test_a_completed_order_cannot_go_back_into_preparation(actors, small_menu):
    order = _walk(_place(small_menu), actors, S.PAID, S.IN_PREPARATION, S.READY, S.COMPLETED)

    with pytest.raises(Conflict) as refused:
        order_transition(order=order, to_status=S.IN_PREPARATION, actor=Actor.for_user(actors.manager))

    assert refused.value.code == "illegal_transition"
    order.refresh_from_db()
    assert order.status == S.COMPLETED
    assert order.events.count() == 5


@pytest.mark.django_db
def test_a_customer_cannot_mark_their_order_paid(actors, small_menu):
    order = _place(small_menu, actors.customer)

    with pytest.raises(Forbidden):
        order_transition(order=order, to_status=S.PAID, actor=Actor.for_user(actors.customer))
    with pytest.raises(Forbidden):
        order_transition(order=order, to_status=S.PAID, actor=Actor.guest())

    order.refresh_from_db()
    assert order.status == S.AWAITING_PAYMENT


@pytest.mark.django_db
def test_a_chef_cannot_take_payment_and_a_waiter_cannot_cook(actors, small_menu):
    order = _place(small_menu)
    with pytest.raises(Forbidden):
        order_transition(order=order, to_status=S.PAID, actor=Actor.for_user(actors.chef))
    order = _walk(order, actors, S.PAID)
    with pytest.raises(Forbidden):
        order_transition(order=order, to_status=S.IN_PREPARATION, actor=Actor.for_user(actors.waiter))


@pytest.mark.django_db
def test_a_customer_cannot_cancel_someone_elses_order(actors, small_menu):
    order = _place(small_menu, actors.customer)
    with pytest.raises(Forbidden):
        order_cancel(order=order, actor=Actor.for_user(actors.other_customer), reason="")


@pytest.mark.django_db
def test_a_paid_order_is_refunded_not_cancelled(actors, small_menu):
    order = _walk(_place(small_menu, actors.customer), actors, S.PAID)

    with pytest.raises(Conflict):
        order_cancel(order=order, actor=Actor.for_user(actors.manager), reason="kitchen closed")
    order = order_transition(
        order=order, to_status=S.REFUNDED, actor=Actor.for_user(actors.manager), reason="closed"
    )

    assert order.status == S.REFUNDED


@pytest.mark.django_db
def test_staff_must_give_a_reason_to_cancel(actors, small_menu):
    order = _place(small_menu)
    with pytest.raises(Exception, match="why"):
        order_cancel(order=order, actor=Actor.for_user(actors.waiter), reason="  ")


@pytest.mark.django_db
def test_a_change_made_against_a_stale_version_is_a_conflict(actors, small_menu):
    order = _place(small_menu)
    seen_by_waiter = Order.objects.get(pk=order.pk)
    order_transition(order=order, to_status=S.PAID, actor=Actor.for_user(actors.manager))

    with pytest.raises(Conflict) as conflict:
        order_cancel(order=seen_by_waiter, actor=Actor.for_user(actors.waiter), reason="left")

    assert conflict.value.code == "stale_order"


def test_every_status_is_reachable_and_final_statuses_lead_nowhere():
    reachable = {S.AWAITING_PAYMENT} | {to for (_, to) in state.TRANSITIONS}
    assert reachable == set(S.values)
    assert not [pair for pair in state.TRANSITIONS if pair[0] in state.FINAL_STATUSES]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_simultaneous_transitions_of_one_order_exactly_one_wins(actors, small_menu):
    order = _walk(_place(small_menu), actors, S.PAID)
    # Both threads read the order before either writes: the race the kitchen
    # and the manager run when one starts cooking as the other refunds.
    copies = [Order.objects.get(pk=order.pk), Order.objects.get(pk=order.pk)]
    outcomes = run_simultaneously(
        lambda: order_transition(
            order=copies[0], to_status=S.IN_PREPARATION, actor=Actor.for_user(actors.chef)
        ),
        lambda: order_transition(order=copies[1], to_status=S.REFUNDED, actor=Actor.for_user(actors.manager)),
    )

    winners = [outcome for outcome in outcomes if isinstance(outcome, Order)]
    losers = [outcome for outcome in outcomes if isinstance(outcome, Conflict)]
    assert (len(winners), len(losers)) == (1, 1), outcomes
    loser = losers[0]
    assert loser.code == "stale_order"
    assert "Someone else changed this order" in loser.message
    order.refresh_from_db()
    assert order.version == 3
    assert order.events.count() == 3


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_simultaneous_submissions_of_one_checkout_make_one_order(small_menu):
    def submit() -> tuple[Order, bool]:
        return order_place(
            lines=[CartLine(small_menu.fries.pk, 1)],
            details=OrderDetails(order_type="pickup", contact_name="A", contact_email="a@example.test"),
            actor=Actor.guest(),
            idempotency_key="double-click-key",
        )

    results = run_simultaneously(submit, submit)

    assert Order.objects.count() == 1
    (first, first_created), (second, second_created) = results
    assert first.pk == second.pk
    assert sorted([first_created, second_created]) == [False, True]
