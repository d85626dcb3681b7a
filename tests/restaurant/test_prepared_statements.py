"""PostgreSQL plans what a connection runs often once, not every time (DATABASE_PREPARED_STATEMENTS)."""

from __future__ import annotations

import pytest
from django.db import connection

from accounts.roles import Actor
from orders.pricing import CartLine
from orders.services import OrderDetails, order_place

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]


def _prepared_here() -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements")
        return [statement for (statement,) in cursor.fetchall()]


def test_the_order_page_reads_are_prepared_once_a_guest_has_looked_a_few_times(client, small_menu):
    # Given a guest's order
    order, _ = order_place(
        lines=[CartLine(small_menu.fries.pk, 2)],
        details=OrderDetails(order_type="pickup", contact_name="A", contact_email="a@example.test"),
        actor=Actor.guest(),
    )
    url = order.get_absolute_url()
    assert client.get(url).status_code == 200
    before = _prepared_here()

    # When its page is opened again and again on the same connection
    for _ in range(5):
        page = client.get(url)
        assert page.status_code == 200

    # Then its reads were prepared on that connection, parameters apart, and the page still shows the order
    prepared = [statement for statement in _prepared_here() if statement not in before]
    assert any('FROM "orders_order"' in statement and "$1" in statement for statement in prepared), prepared
    assert any('FROM "orders_orderitem"' in statement for statement in prepared), prepared
    assert order.number in page.content.decode()
