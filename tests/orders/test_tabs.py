"""Table tabs: a waiter's table order goes to the kitchen at once as a round on the table's tab,
several rounds make one bill, the bill is paid once at the till, and the tab closes."""

from __future__ import annotations

import json

import pytest
from django.test import Client
from django.urls import reverse

from accounts.roles import Actor
from kitchen.models import Ticket, TicketStatus
from orders.floor.models import Table
from orders.models import Order, OrderEvent, OrderEventKind, OrderStatus, Tab, TabRound
from orders.services import order_transition
from orders.tabs.selectors import tab_bill, table_open_tabs
from orders.tabs.services import tab_round_add, tab_settle
from restaurant.errors import ApplicationError
from tests.conftest import client_for
from tests.orders.flows import add_to_cart, checkout

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("floor_tables")]

JSON = {"HTTP_ACCEPT": "application/json"}


def take_round(client, item, table: str = "5", quantity: int = 1) -> Order:  # type: ignore[no-untyped-def]
    """A waiter takes a table's order at checkout, as the floor does: dine in, the table."""
    add_to_cart(client, item, quantity)
    response = checkout(client, order_type="dine_in", table_number=table, contact_name=f"Table {table}")
    assert response.status_code == 302, response.content
    return Order.objects.order_by("-pk").first()  # type: ignore[return-value]


def tab_of(order: Order) -> Tab:
    return TabRound.objects.select_related("tab").get(order=order).tab


def cook(order: Order, chef, *moves: str) -> None:  # type: ignore[no-untyped-def]
    """A chef works the order's tickets on the board (kitchen.services.ticket_move)."""
    from kitchen.services import ticket_move

    for move in moves:
        for ticket in Ticket.objects.filter(order=order):
            ticket_move(
                ticket_id=ticket.pk, move=move, actor=Actor.for_user(chef), expected_version=ticket.version
            )


def error_code(response) -> str:  # type: ignore[no-untyped-def]
    return json.loads(response.content)["error"]["code"]


# ---------------------------------------------------------------- the staff path


def test_a_waiters_table_order_goes_to_the_kitchen_at_once_on_the_tables_tab(actors, small_menu):
    waiter = client_for(actors.waiter)

    add_to_cart(waiter, small_menu.burger, 1, [small_menu.rare])
    response = checkout(waiter, order_type="dine_in", table_number="5", contact_name="Table 5")

    order = Order.objects.get()
    tab = tab_of(order)
    assert response["Location"] == reverse("orders:tab_bill", kwargs={"tab_id": tab.pk})
    assert order.status == OrderStatus.ON_TAB
    assert not order.payments.exists()
    assert Ticket.objects.filter(order=order, status=TicketStatus.NEW).count() == 1
    event = order.events.last()
    assert (event.from_status, event.to_status, event.actor) == ("awaiting_payment", "on_tab", actors.waiter)
    assert (tab.table.label, tab.status, tab.opened_by) == ("5", "open", actors.waiter)


def test_a_second_round_joins_the_open_tab_and_the_bill_lists_both(actors, small_menu):
    waiter = client_for(actors.waiter)
    first = take_round(waiter, small_menu.fries, quantity=2)
    second = take_round(client_for(actors.manager), small_menu.fries)

    tab = tab_of(first)
    assert tab_of(second) == tab
    assert list(tab.rounds.values_list("number", "order_id")) == [(1, first.pk), (2, second.pk)]
    bill = waiter.get(reverse("orders:tab_bill", kwargs={"tab_id": tab.pk}))
    page = bill.content.decode()
    assert bill.status_code == 200
    assert "Round 1" in page and "Round 2" in page
    assert "€12.00" in page  # 3 × fries at 4.00
    assert "VAT included" in page
    assert 'href="/static/css/bill' in page


def test_another_tables_order_opens_its_own_tab(actors, small_menu):
    waiter = client_for(actors.waiter)
    five = take_round(waiter, small_menu.fries, table="5")
    six = take_round(waiter, small_menu.fries, table="6")

    assert tab_of(five) != tab_of(six)
    assert set(table_open_tabs()) == {tab_of(five).table_id, tab_of(six).table_id}


def test_the_floor_selector_gives_each_open_tab_its_total_and_rounds_statuses(actors, small_menu):
    waiter = client_for(actors.waiter)
    first = take_round(waiter, small_menu.fries)
    take_round(waiter, small_menu.fries, quantity=2)
    cook(first, actors.chef, "start")

    tabs = table_open_tabs()

    (summary,) = tabs.values()
    assert summary.total_minor == 1200
    assert summary.round_statuses == ("in_preparation", "on_tab")
    assert summary.url == reverse("orders:tab_bill", kwargs={"tab_id": summary.tab_id})


def test_paying_the_tab_at_the_till_records_it_once_and_closes_it(actors, small_menu):
    waiter = client_for(actors.waiter)
    first = take_round(waiter, small_menu.fries)
    second = take_round(waiter, small_menu.fries, quantity=2)
    cook(first, actors.chef, "start", "bump")
    tab = tab_of(first)
    tab.refresh_from_db()

    response = waiter.post(
        reverse("orders:tab_pay", kwargs={"tab_id": tab.pk}), {"method": "card", "version": tab.version}
    )

    assert response.status_code == 302
    tab.refresh_from_db()
    assert (tab.status, tab.paid_minor, tab.payment_method, tab.closed_by) == (
        "paid",
        1200,
        "card",
        actors.waiter,
    )
    first.refresh_from_db()
    second.refresh_from_db()
    # The round the kitchen had not started is paid now; the cooked one keeps its kitchen status.
    assert (first.status, second.status) == ("ready", "paid")
    settled = OrderEvent.objects.filter(kind=OrderEventKind.TAB_SETTLED)
    assert sorted(settled.values_list("order_id", flat=True)) == sorted([first.pk, second.pk])
    assert settled.first().data == {
        "tab_id": tab.pk,
        "method": "card",
        "amount_minor": 1200,
        "currency": "EUR",
    }
    # Sent again (a double tap, the back button): refused, nothing charged twice.
    again = waiter.post(
        reverse("orders:tab_pay", kwargs={"tab_id": tab.pk}),
        {"method": "card", "version": tab.version},
        **JSON,
    )
    assert (again.status_code, error_code(again)) == (409, "tab_closed")
    assert OrderEvent.objects.filter(kind=OrderEventKind.TAB_SETTLED).count() == 2
    page = waiter.get(reverse("orders:tab_bill", kwargs={"tab_id": tab.pk})).content.decode()
    assert "Paid €12.00" in page and "Record payment" not in page


def test_a_closed_tab_takes_no_more_rounds_the_next_order_opens_a_new_tab(actors, small_menu):
    waiter = client_for(actors.waiter)
    first = take_round(waiter, small_menu.fries)
    old = tab_of(first)
    tab_settle(
        tab_id=old.pk, method="cash", expected_version=old.version, actor=Actor.for_user(actors.waiter)
    )

    later = take_round(waiter, small_menu.fries)

    assert tab_of(later) != old
    assert old.rounds.count() == 1


def test_a_cancelled_or_refunded_round_leaves_the_tab_total(
    actors, small_menu, django_capture_on_commit_callbacks
):
    waiter, manager = client_for(actors.waiter), client_for(actors.manager)
    uncooked = take_round(waiter, small_menu.fries)
    cooked = take_round(waiter, small_menu.fries, quantity=2)
    kept = take_round(waiter, small_menu.fries)
    cook(cooked, actors.chef, "start")
    tab = tab_of(uncooked)
    url = lambda order: reverse("orders:tab_round_remove", kwargs={"tab_id": tab.pk, "order_id": order.pk})  # noqa: E731

    with django_capture_on_commit_callbacks(execute=True):
        cancelled = waiter.post(
            url(uncooked), {"version": uncooked.version, "reason": "Sent back, wrong table"}
        )
        cooked.refresh_from_db()
        waiter_refund = waiter.post(url(cooked), {"version": cooked.version, "reason": "Cold"}, **JSON)
        refunded = manager.post(url(cooked), {"version": cooked.version, "reason": "Cold"})

    assert cancelled.status_code == 302 and refunded.status_code == 302
    # Giving away food the kitchen cooked is a manager's call, as a refund is.
    assert (waiter_refund.status_code, error_code(waiter_refund)) == (403, "transition_not_permitted")
    uncooked.refresh_from_db()
    cooked.refresh_from_db()
    assert (uncooked.status, cooked.status) == ("cancelled", "refunded")
    assert not Ticket.objects.filter(order__in=[uncooked, cooked]).exclude(status=TicketStatus.VOID).exists()
    bill = tab_bill(tab_id=tab.pk)
    assert bill is not None and bill.total_minor == kept.total_minor == 400
    tab.refresh_from_db()
    tab_settle(
        tab_id=tab.pk, method="cash", expected_version=tab.version, actor=Actor.for_user(actors.manager)
    )
    tab.refresh_from_db()
    assert tab.paid_minor == 400


# ---------------------------------------------------------------- the customer's path stays paid-first


def test_a_customers_own_dine_in_order_never_reaches_the_kitchen_unpaid(actors, small_menu, client):
    from tests.orders.flows import scan_table

    table = Table.objects.get(label="5")
    customer = client_for(actors.customer)
    scan_table(customer, table)
    add_to_cart(customer, small_menu.fries, 1)

    response = checkout(customer, order_type="dine_in", table_number="5")

    order = Order.objects.get()
    assert response.status_code == 302 and "sandbox" in response["Location"]
    assert order.status == OrderStatus.AWAITING_PAYMENT and order.placed_by is None
    assert not Ticket.objects.filter(order=order).exists()
    assert not Tab.objects.exists() and table.tabs.count() == 0


@pytest.mark.parametrize("who", ["customer", "guest", "chef"])
def test_no_one_but_floor_staff_can_put_an_order_on_a_tab(actors, small_menu, who):
    from tests.kitchen.conftest import place

    order = place(small_menu, table="5")
    actor = Actor.guest() if who == "guest" else Actor.for_user(getattr(actors, who))

    with pytest.raises(ApplicationError) as refused:
        tab_round_add(order=order, actor=actor)
    with pytest.raises(ApplicationError) as transition:
        order_transition(order=order, to_status=OrderStatus.ON_TAB, actor=actor)

    assert refused.value.status == 403 and transition.value.status == 403
    order.refresh_from_db()
    assert order.status == OrderStatus.AWAITING_PAYMENT
    assert not Tab.objects.exists()


def test_staff_cannot_put_a_customers_own_order_on_a_tab(actors, small_menu):
    from tests.kitchen.conftest import place

    order = place(small_menu, table="5")

    with pytest.raises(ApplicationError) as refused:
        tab_round_add(order=order, actor=Actor.for_user(actors.waiter))

    assert refused.value.code == "not_a_table_order"
    order.refresh_from_db()
    assert order.status == OrderStatus.AWAITING_PAYMENT and not Tab.objects.exists()


def test_a_crafted_checkout_post_from_a_customer_does_not_open_a_tab(actors, small_menu):
    customer = client_for(actors.customer)
    add_to_cart(customer, small_menu.fries, 1)
    from tests.orders.flows import checkout_token, pickup_details

    token = checkout_token(customer)
    # The fields a waiter's checkout might send, and a few invented ones.
    response = customer.post(
        reverse("orders:checkout"),
        {
            "checkout_token": token,
            **pickup_details(order_type="dine_in", table_number="5"),
            "on_tab": "1",
            "placed_by": actors.waiter.pk,
            "status": "on_tab",
        },
    )

    assert response.status_code == 400
    assert not Order.objects.exists() and not Tab.objects.exists()


def test_the_floor_shows_each_tables_open_tab_on_the_page_and_in_its_snapshot(actors, small_menu):
    from orders.floor.selectors import floor_snapshot

    waiter = client_for(actors.waiter)
    first = take_round(waiter, small_menu.fries)
    take_round(waiter, small_menu.fries, quantity=2)
    tab = tab_of(first)
    bill_url = reverse("orders:tab_bill", kwargs={"tab_id": tab.pk})

    page = waiter.get(reverse("orders:floor")).content.decode()

    assert f'href="{bill_url}" data-tab-link>Tab · <span data-tab-total>€12.00</span>' in page
    (table,) = [t for t in floor_snapshot()["tables"] if t["id"] == tab.table_id]
    assert table["tab"] == {"url": bill_url, "total": "€12.00"}
    assert all(t["tab"] is None for t in floor_snapshot()["tables"] if t["id"] != tab.table_id)


def test_served_on_the_floor_is_a_hand_over_recorded_with_its_way(actors, small_menu):
    waiter = client_for(actors.waiter)
    order = take_round(waiter, small_menu.fries)
    cook(order, actors.chef, "start", "bump")
    order.refresh_from_db()
    assert order.status == OrderStatus.READY

    response = waiter.post(
        reverse("orders:floor_action", kwargs={"order_id": order.pk}),
        {"action": "served", "version": order.version},
    )

    assert response.status_code == 302
    order.refresh_from_db()
    assert order.status == OrderStatus.COMPLETED
    event = OrderEvent.objects.filter(order=order, to_status=OrderStatus.COMPLETED).get()
    assert event.data == {"handed_over": "served"}


def test_a_waiters_table_order_reaches_the_kitchen_while_the_payment_provider_is_down(actors, small_menu):
    from orders.payments.services import payment_breaker

    waiter = client_for(actors.waiter)
    breaker = payment_breaker()
    breaker.open()
    try:
        order = take_round(waiter, small_menu.fries)
        guest = Client()
        add_to_cart(guest, small_menu.fries, 1)
        refused = checkout(guest)
    finally:
        breaker.close()

    assert order.status == OrderStatus.ON_TAB
    assert Ticket.objects.filter(order=order).exists()
    # A guest's own order still needs the provider, and is refused while it is down.
    assert refused.status_code == 503
    assert Order.objects.count() == 1
