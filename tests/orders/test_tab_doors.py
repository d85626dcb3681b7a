"""The tab's doors: who may do what (the matrix), and hostile input on every action (4xx, nothing written)."""

from __future__ import annotations

import json

import pytest
from django.urls import reverse

from accounts.roles import Actor
from orders.models import Order, OrderEvent, OrderStatus, Tab, TabStatus
from orders.tabs.services import tab_settle
from tests.conftest import client_for
from tests.orders.test_tabs import take_round

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("floor_tables")]

JSON = {"HTTP_ACCEPT": "application/json"}
WHO = ["guest", "customer", "chef", "waiter", "manager"]
FLOOR_STAFF = {"waiter", "manager"}


@pytest.fixture
def open_tab(actors, small_menu) -> tuple[Tab, Order]:
    order = take_round(client_for(actors.waiter), small_menu.fries, table="5")
    tab = Tab.objects.get()
    return tab, order


def _client(actors, who: str):  # type: ignore[no-untyped-def]
    return client_for(None if who == "guest" else getattr(actors, who))


def _written() -> tuple[object, ...]:
    """Everything a tab action could write: tabs, their versions, orders' statuses, the audit trail."""
    return (
        list(Tab.objects.order_by("pk").values_list("pk", "status", "version", "paid_minor")),
        list(Order.objects.order_by("pk").values_list("pk", "status", "version")),
        OrderEvent.objects.count(),
    )


def _refused(response, status: int, code: str) -> None:  # type: ignore[no-untyped-def]
    assert response.status_code == status, response.content[:300]
    body = json.loads(response.content)
    assert body["error"]["code"] == code
    assert set(body["error"]) == {"code", "message", "data", "request_id"}


# ---------------------------------------------------------------- the permission matrix


@pytest.mark.parametrize("who", WHO)
@pytest.mark.parametrize("page", ["tabs_open", "tab_bill"])
def test_only_floor_staff_open_the_tabs_pages(actors, open_tab, who, page):
    tab, _ = open_tab
    kwargs = {"tab_id": tab.pk} if page == "tab_bill" else {}

    response = _client(actors, who).get(reverse(f"orders:{page}", kwargs=kwargs))

    if who == "guest":
        assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    else:
        assert response.status_code == (200 if who in FLOOR_STAFF else 403)


@pytest.mark.parametrize("who", WHO)
def test_only_floor_staff_take_payment_for_a_tab(actors, open_tab, who):
    tab, _ = open_tab
    before = _written()

    response = _client(actors, who).post(
        reverse("orders:tab_pay", kwargs={"tab_id": tab.pk}), {"method": "cash", "version": tab.version}
    )

    tab.refresh_from_db()
    if who in FLOOR_STAFF:
        assert response.status_code == 302 and tab.status == TabStatus.PAID
    else:
        assert response.status_code in (302, 403) and _written() == before
        if who == "guest":
            assert "/accounts/login/" in response["Location"]


@pytest.mark.parametrize("who", WHO)
def test_only_floor_staff_take_an_uncooked_round_off_a_tab(actors, open_tab, who):
    tab, order = open_tab
    before = _written()

    response = _client(actors, who).post(
        reverse("orders:tab_round_remove", kwargs={"tab_id": tab.pk, "order_id": order.pk}),
        {"version": order.version, "reason": "Ordered twice"},
    )

    order.refresh_from_db()
    if who in FLOOR_STAFF:
        assert response.status_code == 302 and order.status == OrderStatus.CANCELLED
    else:
        assert response.status_code in (302, 403) and _written() == before


# ---------------------------------------------------------------- hostile input


def test_an_unknown_tab_is_a_404_on_every_action(actors, open_tab):
    waiter = client_for(actors.waiter)
    _, order = open_tab
    before = _written()

    _refused(waiter.get(reverse("orders:tab_bill", kwargs={"tab_id": 999_999}), **JSON), 404, "tab_not_found")
    _refused(
        waiter.post(
            reverse("orders:tab_pay", kwargs={"tab_id": 999_999}), {"method": "cash", "version": 1}, **JSON
        ),
        404,
        "tab_not_found",
    )
    _refused(
        waiter.post(
            reverse("orders:tab_round_remove", kwargs={"tab_id": 999_999, "order_id": order.pk}),
            {"version": order.version, "reason": "x"},
            **JSON,
        ),
        404,
        "tab_not_found",
    )
    # Past the largest id a row can have: the URL itself is no route.
    assert waiter.get(f"/floor/tabs/{2**70}/").status_code == 404
    assert waiter.get("/floor/tabs/-1/").status_code == 404
    assert _written() == before


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        ({"method": "bitcoin", "version": 1}, "unknown method"),
        ({"method": "", "version": 1}, "no method"),
        ({"method": "cash" * 1000, "version": 1}, "oversized method"),
        ({"method": "cash", "version": "abc"}, "version not a number"),
        ({"method": "cash", "version": "-1"}, "negative version"),
        ({"method": "cash", "version": str(2**40)}, "version too large"),
        ({"method": "cash"}, "no version"),
        ({"method": "cash", "version": 1, "amount_minor": "1"}, "an amount sent by the client"),
        ({"method": "<script>alert(1)</script>", "version": 1}, "markup"),
    ],
)
def test_paying_a_tab_with_odd_values_is_a_400_and_writes_nothing(actors, open_tab, data, reason):
    tab, _ = open_tab
    data = {k: (tab.version if v == 1 and k == "version" else v) for k, v in data.items()}
    before = _written()

    response = client_for(actors.waiter).post(
        reverse("orders:tab_pay", kwargs={"tab_id": tab.pk}), data, **JSON
    )

    _refused(response, 400, "invalid_form")
    assert _written() == before, reason


def test_paying_a_tab_at_a_version_the_waiter_did_not_see_is_a_409(actors, small_menu, open_tab):
    tab, _ = open_tab
    seen = tab.version
    take_round(client_for(actors.manager), small_menu.fries, table="5")  # a round added meanwhile
    before = _written()

    response = client_for(actors.waiter).post(
        reverse("orders:tab_pay", kwargs={"tab_id": tab.pk}), {"method": "card", "version": seen}, **JSON
    )

    _refused(response, 409, "stale_tab")
    assert _written() == before


def test_a_closed_tab_refuses_payment_and_round_changes(actors, open_tab):
    tab, order = open_tab
    tab_settle(
        tab_id=tab.pk, method="cash", expected_version=tab.version, actor=Actor.for_user(actors.waiter)
    )
    tab.refresh_from_db()
    order.refresh_from_db()
    waiter = client_for(actors.waiter)
    before = _written()

    pay = waiter.post(
        reverse("orders:tab_pay", kwargs={"tab_id": tab.pk}),
        {"method": "cash", "version": tab.version},
        **JSON,
    )
    remove = waiter.post(
        reverse("orders:tab_round_remove", kwargs={"tab_id": tab.pk, "order_id": order.pk}),
        {"version": order.version, "reason": "Changed their mind"},
        **JSON,
    )
    page = waiter.post(
        reverse("orders:tab_pay", kwargs={"tab_id": tab.pk}), {"method": "cash", "version": tab.version}
    )

    _refused(pay, 409, "tab_closed")
    _refused(remove, 409, "tab_closed")
    assert page.status_code == 409 and "paid and closed" in page.content.decode()
    assert _written() == before


def test_a_round_of_another_tables_tab_is_not_on_this_one(actors, small_menu, open_tab):
    tab, _ = open_tab
    other = take_round(client_for(actors.waiter), small_menu.fries, table="6")
    before = _written()

    response = client_for(actors.waiter).post(
        reverse("orders:tab_round_remove", kwargs={"tab_id": tab.pk, "order_id": other.pk}),
        {"version": other.version, "reason": "Wrong table"},
        **JSON,
    )

    _refused(response, 404, "round_not_on_tab")
    assert _written() == before


@pytest.mark.parametrize(
    ("data", "status", "code"),
    [
        ({"version": "stale", "reason": "x"}, 400, "invalid_form"),
        ({"version": 99, "reason": "x"}, 409, "stale_order"),
        ({"version": "current", "reason": ""}, 400, "invalid_form"),
        ({"version": "current", "reason": "   "}, 400, "invalid_form"),
        ({"version": "current", "reason": "x" * 501}, 400, "invalid_form"),
        ({"version": "current", "reason": "void\x00"}, 400, "invalid_form"),
        ({"version": "current", "reason": "evil\u202etext"}, 400, "invalid_form"),
        ({"version": "current", "reason": "x", "status": "refunded"}, 400, "invalid_form"),
    ],
)
def test_taking_a_round_off_with_odd_values_is_refused_and_writes_nothing(
    actors, open_tab, data, status, code
):
    tab, order = open_tab
    data = {k: (order.version if v == "current" else v) for k, v in data.items()}
    before = _written()

    response = client_for(actors.waiter).post(
        reverse("orders:tab_round_remove", kwargs={"tab_id": tab.pk, "order_id": order.pk}), data, **JSON
    )

    _refused(response, status, code)
    assert _written() == before


def test_markup_in_a_reason_is_kept_as_text_and_never_rendered(actors, open_tab):
    tab, order = open_tab
    waiter = client_for(actors.waiter)

    waiter.post(
        reverse("orders:tab_round_remove", kwargs={"tab_id": tab.pk, "order_id": order.pk}),
        {"version": order.version, "reason": "<script>alert(1)</script>"},
    )

    assert order.events.last().reason.endswith("<script>alert(1)</script>")
    page = waiter.get(reverse("orders:tab_bill", kwargs={"tab_id": tab.pk})).content.decode()
    assert "<script>alert(1)</script>" not in page


def test_the_browser_sees_a_refusal_on_the_bill_page_with_the_same_status(actors, open_tab):
    tab, _ = open_tab

    response = client_for(actors.waiter).post(
        reverse("orders:tab_pay", kwargs={"tab_id": tab.pk}), {"method": "bitcoin", "version": tab.version}
    )

    page = response.content.decode()
    assert response.status_code == 400
    assert 'role="alert"' in page and "Bill · Table 5" in page
