"""A table pays its whole bill through the payment provider: charged once, the webhook closes the tab,
a repeated or late event never charges twice, and a bill that changed is not closed for another amount."""

from __future__ import annotations

import json

import pytest
from django.test import Client
from django.urls import reverse

from accounts.roles import Actor
from orders.models import OrderEvent, OrderEventKind, OrderStatus, Payment, PaymentStatus, Refund, Tab
from orders.payments.base import PAYMENT_FAILED, PAYMENT_SUCCEEDED
from orders.payments.sandbox import SIGNATURE_HEADER, sandbox_event_body, sandbox_sign
from orders.tabs.services import tab_settle
from tests.conftest import client_for
from tests.orders.test_tabs import take_round

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("floor_tables", "eager_tasks")]

WEBHOOK = "/webhooks/payments/sandbox/"
JSON = {"HTTP_ACCEPT": "application/json"}


def _webhook(payment: Payment, event_type: str = PAYMENT_SUCCEEDED, body: bytes | None = None):  # type: ignore[no-untyped-def]
    body = body or sandbox_event_body(
        reference=payment.provider_ref, event_type=event_type, amount_minor=payment.amount_minor
    )
    return Client().post(
        WEBHOOK, data=body, content_type="application/json", headers={SIGNATURE_HEADER: sandbox_sign(body)}
    )


def _pay_online(client, tab: Tab):  # type: ignore[no-untyped-def]
    tab.refresh_from_db()
    return client.post(reverse("orders:tab_pay_online", kwargs={"tab_id": tab.pk}), {"version": tab.version})


@pytest.fixture
def two_rounds(actors, small_menu) -> Tab:
    waiter = client_for(actors.waiter)
    take_round(waiter, small_menu.fries)
    take_round(waiter, small_menu.fries, quantity=2)
    return Tab.objects.get()


def test_the_tab_total_is_charged_once_and_the_providers_event_closes_the_tab(actors, two_rounds):
    waiter = client_for(actors.waiter)

    started = _pay_online(waiter, two_rounds)

    payment = Payment.objects.get()
    assert started.status_code == 302 and payment.provider_ref in started["Location"]
    assert (payment.tab, payment.order, payment.amount_minor, payment.status) == (
        two_rounds,
        None,
        1200,
        "pending",
    )
    two_rounds.refresh_from_db()
    assert two_rounds.status == "open"  # not until the provider confirms

    first = _webhook(payment)
    again = _webhook(payment)  # the provider sends another event for the same payment

    assert json.loads(first.content)["outcome"] == "tab_paid"
    assert json.loads(again.content)["outcome"] == "already_recorded"
    two_rounds.refresh_from_db()
    assert (two_rounds.status, two_rounds.paid_minor, two_rounds.payment_method) == ("paid", 1200, "online")
    assert set(two_rounds.rounds.values_list("order__status", flat=True)) == {OrderStatus.PAID}
    assert OrderEvent.objects.filter(kind=OrderEventKind.TAB_SETTLED).count() == 2
    assert not Refund.objects.exists()
    page = waiter.get(reverse("orders:tab_bill", kwargs={"tab_id": two_rounds.pk})).content.decode()
    assert "Paid €12.00" in page and "Paid online" in page


def test_the_same_event_delivered_twice_is_applied_once(actors, two_rounds):
    _pay_online(client_for(actors.waiter), two_rounds)
    payment = Payment.objects.get()
    body = sandbox_event_body(reference=payment.provider_ref, event_type=PAYMENT_SUCCEEDED, amount_minor=1200)

    outcomes = [json.loads(_webhook(payment, body=body).content)["outcome"] for _ in range(2)]

    assert outcomes == ["tab_paid", "duplicate"]
    assert OrderEvent.objects.filter(kind=OrderEventKind.TAB_SETTLED).count() == 2


def test_a_declined_payment_leaves_the_tab_open_to_try_again(actors, two_rounds):
    waiter = client_for(actors.waiter)
    _pay_online(waiter, two_rounds)

    _webhook(Payment.objects.get(), PAYMENT_FAILED)
    retry = _pay_online(waiter, two_rounds)

    two_rounds.refresh_from_db()
    assert two_rounds.status == "open" and retry.status_code == 302
    assert list(Payment.objects.order_by("pk").values_list("status", flat=True)) == ["failed", "pending"]


def test_money_arriving_after_the_tab_was_paid_at_the_till_goes_back(
    actors, two_rounds, django_capture_on_commit_callbacks
):
    _pay_online(client_for(actors.waiter), two_rounds)
    payment = Payment.objects.get()
    two_rounds.refresh_from_db()
    tab_settle(
        tab_id=two_rounds.pk,
        method="cash",
        expected_version=two_rounds.version,
        actor=Actor.for_user(actors.waiter),
    )

    with django_capture_on_commit_callbacks(execute=True):
        outcome = json.loads(_webhook(payment).content)["outcome"]

    assert outcome == "refund_scheduled"
    two_rounds.refresh_from_db()
    assert (two_rounds.payment_method, two_rounds.paid_minor) == ("cash", 1200)
    refund = Refund.objects.get()
    assert (refund.payment, refund.amount_minor, refund.status) == (payment, 1200, "succeeded")
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.REFUNDED


def test_a_bill_that_changed_after_the_checkout_opened_is_not_closed_for_the_old_amount(
    actors, small_menu, two_rounds
):
    _pay_online(client_for(actors.waiter), two_rounds)
    payment = Payment.objects.get()
    take_round(client_for(actors.waiter), small_menu.fries)  # one more round meanwhile

    outcome = json.loads(_webhook(payment).content)["outcome"]

    assert outcome == "refund_scheduled"
    two_rounds.refresh_from_db()
    assert two_rounds.status == "open" and two_rounds.rounds.count() == 3
    assert Refund.objects.get().amount_minor == 1200


@pytest.mark.parametrize("who", ["customer", "chef"])
def test_only_floor_staff_open_a_tabs_online_payment(actors, two_rounds, who):
    response = client_for(getattr(actors, who)).post(
        reverse("orders:tab_pay_online", kwargs={"tab_id": two_rounds.pk}), {"version": two_rounds.version}
    )

    assert response.status_code == 403 and not Payment.objects.exists()


@pytest.mark.parametrize(
    ("data", "status", "code"),
    [
        ({"version": "x"}, 400, "invalid_form"),
        ({"version": 1, "amount_minor": 1}, 400, "invalid_form"),
        ({"version": 1}, 409, "stale_tab"),
    ],
)
def test_odd_values_open_no_checkout(actors, two_rounds, data, status, code):
    response = client_for(actors.waiter).post(
        reverse("orders:tab_pay_online", kwargs={"tab_id": two_rounds.pk}), data, **JSON
    )

    assert response.status_code == status
    assert json.loads(response.content)["error"]["code"] == code
    assert not Payment.objects.exists()


def test_a_closed_tab_opens_no_checkout(actors, two_rounds):
    two_rounds.refresh_from_db()
    tab_settle(
        tab_id=two_rounds.pk,
        method="card",
        expected_version=two_rounds.version,
        actor=Actor.for_user(actors.waiter),
    )

    response = _pay_online(client_for(actors.waiter), two_rounds)

    assert response.status_code == 409 and not Payment.objects.exists()


def test_the_sandbox_page_of_a_tab_payment_names_the_tab_and_leads_back_to_the_bill(actors, two_rounds):
    waiter = client_for(actors.waiter)
    started = _pay_online(waiter, two_rounds)

    page = waiter.get(started["Location"])

    assert page.status_code == 200
    assert f"Pay tab T{two_rounds.pk}" in page.content.decode() and "€12.00" in page.content.decode()
