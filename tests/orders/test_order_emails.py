"""Order emails never relay a visitor's text to an address nobody proved.

Anyone may type anyone's address at checkout. The restaurant's mail to that
address then carries only our own words; the orderer's name, notes, address,
table and cancel reason appear only when the order belongs to a signed-in
customer who verified that very address.
"""

from __future__ import annotations

import pytest
from allauth.account.models import EmailAddress
from django.core import mail
from django.urls import reverse

from accounts.roles import Actor
from orders.models import Order, OrderStatus
from orders.services import order_transition
from tests.conftest import client_for
from tests.factories import TableFactory
from tests.orders.flows import add_to_cart, checkout, scan_table

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("eager_tasks")]

TILL = Actor.system("test-till")
VICTIM = "victim@example.test"
HOSTILE_NAME = "Your bank says call 0800 666 now"
HOSTILE_NOTE = "Account locked: log in at http://evil.example/reset"
HOSTILE_ADDRESS = "Send your card PIN to http://evil.example/pin"
HOSTILE_TABLE = "evil.ex"
HOSTILE_REASON = "Claim your refund at http://evil.example/refund"
HOSTILE_TEXTS = (HOSTILE_NAME, HOSTILE_NOTE, HOSTILE_ADDRESS, HOSTILE_TABLE, HOSTILE_REASON, "evil.example")

ORDER_TYPES = {
    "delivery": {
        "order_type": "delivery",
        "delivery_address": HOSTILE_ADDRESS,
        "contact_phone": "+44 131 555 0100",
    },
    "dine_in": {"order_type": "dine_in", "table_number": HOSTILE_TABLE},
    "pickup": {"order_type": "pickup"},
}


def _ordered(client, menu, contact_email: str, contact_name: str, **details) -> Order:  # type: ignore[no-untyped-def]
    if details.get("order_type") == "dine_in":
        # A manager may name a table anything its rule allows; a guest orders there by its QR code.
        scan_table(client, TableFactory(label=details["table_number"]))
    add_to_cart(client, menu.burger, 2, [menu.medium, menu.bacon])
    response = checkout(
        client,
        contact_name=contact_name,
        contact_email=contact_email,
        special_instructions=HOSTILE_NOTE,
        **details,
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    return Order.objects.latest("pk")


def _paid(order: Order, django_capture_on_commit_callbacks) -> None:  # type: ignore[no-untyped-def]
    with django_capture_on_commit_callbacks(execute=True):
        order_transition(order=order, to_status=OrderStatus.PAID, actor=TILL)


def _cancelled_by_its_orderer(client, order: Order, reason: str, django_capture_on_commit_callbacks) -> None:  # type: ignore[no-untyped-def]
    order.refresh_from_db()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("orders:cancel", args=[order.tracking_token]),
            {"reason": reason, "version": order.version},
        )
    assert response.status_code == 302, response.content.decode()[:2000]
    order.refresh_from_db()
    assert order.status == OrderStatus.CANCELLED


def _assert_only_our_words(message, order: Order) -> None:  # type: ignore[no-untyped-def]
    for text in HOSTILE_TEXTS:
        assert text not in message.subject, text
        assert text not in message.body, text
    assert order.number in message.subject


@pytest.mark.parametrize("order_type", list(ORDER_TYPES))
def test_a_guest_order_to_any_address_confirms_in_our_words_only(
    order_type, client, small_menu, django_capture_on_commit_callbacks
) -> None:
    # Given a guest who typed a stranger's address and their own message everywhere,
    order = _ordered(client, small_menu, VICTIM, HOSTILE_NAME, **ORDER_TYPES[order_type])

    # when the order is paid,
    _paid(order, django_capture_on_commit_callbacks)

    # the stranger hears of the order in our words: number, our items, total, our link.
    [message] = mail.outbox
    assert message.to == [VICTIM]
    _assert_only_our_words(message, order)
    assert "2 x Burger (Medium, Bacon)" in message.body
    assert order.get_absolute_url() in message.body


@pytest.mark.parametrize("order_type", list(ORDER_TYPES))
def test_a_guest_order_cancelled_with_a_reason_does_not_relay_the_reason(
    order_type, client, small_menu, django_capture_on_commit_callbacks
) -> None:
    order = _ordered(client, small_menu, VICTIM, HOSTILE_NAME, **ORDER_TYPES[order_type])

    _cancelled_by_its_orderer(client, order, HOSTILE_REASON, django_capture_on_commit_callbacks)

    [message] = mail.outbox
    assert message.to == [VICTIM]
    _assert_only_our_words(message, order)
    assert "has been cancelled." in message.body


def test_a_signed_in_customer_typing_another_address_is_not_proven(
    small_menu, actors, django_capture_on_commit_callbacks
) -> None:
    # Given a customer whose own address is verified, ordering to someone else's,
    EmailAddress.objects.create(
        user=actors.customer, email=actors.customer.email, verified=True, primary=True
    )
    client = client_for(actors.customer)
    order = _ordered(client, small_menu, VICTIM, HOSTILE_NAME)

    _cancelled_by_its_orderer(client, order, HOSTILE_REASON, django_capture_on_commit_callbacks)

    [message] = mail.outbox
    _assert_only_our_words(message, order)


def test_an_unverified_account_address_is_not_proven(
    small_menu, actors, django_capture_on_commit_callbacks
) -> None:
    EmailAddress.objects.create(
        user=actors.customer, email=actors.customer.email, verified=False, primary=True
    )
    client = client_for(actors.customer)
    order = _ordered(client, small_menu, actors.customer.email, HOSTILE_NAME)

    _paid(order, django_capture_on_commit_callbacks)

    [message] = mail.outbox
    _assert_only_our_words(message, order)


def test_a_verified_customer_reads_their_own_name_note_and_reason(
    small_menu, actors, django_capture_on_commit_callbacks
) -> None:
    # Given a customer ordering to the address they verified (in another case),
    EmailAddress.objects.create(
        user=actors.customer, email=actors.customer.email.upper(), verified=True, primary=True
    )
    client = client_for(actors.customer)
    paid = _ordered(client, small_menu, actors.customer.email, "Carla Customer")
    cancelled = _ordered(client, small_menu, actors.customer.email, "Carla Customer")

    _paid(paid, django_capture_on_commit_callbacks)
    _cancelled_by_its_orderer(
        client, cancelled, "Ordered twice by mistake", django_capture_on_commit_callbacks
    )

    confirmation, cancellation = mail.outbox
    assert "Hello Carla Customer," in confirmation.body
    assert f"Your note to the kitchen: {HOSTILE_NOTE}" in confirmation.body
    assert "Hello Carla Customer," in cancellation.body
    assert "cancelled: Ordered twice by mistake." in cancellation.body


def test_our_own_reason_reaches_a_guest(small_menu, client, django_capture_on_commit_callbacks) -> None:
    # A reason the system wrote (not a person) is our wording: a guest may read it.
    from orders.services import order_cancel

    order = _ordered(client, small_menu, VICTIM, HOSTILE_NAME)
    with django_capture_on_commit_callbacks(execute=True):
        order_cancel(order=order, actor=Actor.system("payments"), reason="payment not received in time")

    [message] = mail.outbox
    _assert_only_our_words(message, order)
    assert "cancelled: payment not received in time." in message.body
