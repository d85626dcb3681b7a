"""Orders over the API: placed through order_checkout, listed by cursor, read, cancelled, paid; idempotent."""

from __future__ import annotations

import base64
import json

import pytest
from django.test import Client
from waffle.models import Switch

from orders.coupons.selectors import COUPON_REFUSED
from orders.models import Order, OrderStatus, Payment
from orders.online_ordering import SWITCH
from restaurant.api.clients import ApiScope
from tests.api import api_error, app_for, browser_for, partner_app, post_json
from tests.conftest import client_for
from tests.factories import CouponFactory, TableFactory
from tests.orders.flows import three_lines

pytestmark = pytest.mark.django_db

ORDERS, MINE = "/api/v1/orders/", "/api/v1/orders/mine/"


def _place(client: Client, body: dict, **headers):
    return post_json(client, ORDERS, body, **headers)


def test_an_app_places_an_order_priced_by_us_and_gets_the_payment_page(actors, small_menu):
    response = _place(app_for(actors.customer), three_lines(small_menu))

    assert response.status_code == 201, response.content
    answer = response.json()
    assert answer["next_step"] == "pay_online"
    assert answer["payment_url"].startswith("http://testserver/sandbox/pay/")
    order = answer["order"]
    # 12.00 + 2.00 bacon; 2 × (3.50 + 1.00); 4.00
    assert order["total_minor"] == 1400 + 900 + 400
    assert [line["line_total_minor"] for line in order["lines"]] == [1400, 900, 400]
    assert order["lines"][0]["modifiers"][1]["option"] == "Bacon"
    assert order["status"] == OrderStatus.AWAITING_PAYMENT
    placed = Order.objects.get()
    assert placed.customer == actors.customer and placed.partner is None
    assert Payment.objects.filter(order=placed).count() == 1


def test_what_the_menu_refuses_the_api_refuses_with_the_same_code(actors, small_menu):
    body = three_lines(small_menu)
    body["lines"] = [{"item": small_menu.sold_out.pk, "quantity": 1}]

    error = api_error(_place(app_for(actors.customer), body), 400)

    assert error["code"] == "item_unavailable"
    assert not Order.objects.exists()


def test_placed_orders_are_listed_and_read_by_their_owner_only(actors, small_menu):
    app = app_for(actors.customer)
    number = _place(app, three_lines(small_menu)).json()["order"]["number"]

    mine = app.get(MINE).json()
    assert [order["number"] for order in mine["results"]] == [number]
    assert app.get(f"{ORDERS}{number}/").json()["number"] == number
    assert app_for(actors.other_customer).get(MINE).json()["results"] == []
    assert api_error(app_for(actors.other_customer).get(f"{ORDERS}{number}/"), 404)["code"] == "not_found"
    # Staff may see any order, as on the pages.
    assert app_for(actors.waiter).get(f"{ORDERS}{number}/").status_code == 200


def test_a_customer_cancels_with_the_version_seen_and_a_stale_one_is_a_409(actors, small_menu):
    app = app_for(actors.customer)
    order = _place(app, three_lines(small_menu)).json()["order"]

    stale = post_json(app, f"{ORDERS}{order['number']}/cancel/", {"version": order["version"] + 1})
    assert api_error(stale, 409)["code"] == "stale_order"

    cancelled = post_json(app, f"{ORDERS}{order['number']}/cancel/", {"version": order["version"]})
    assert cancelled.status_code == 200
    assert cancelled.json()["status"] == OrderStatus.CANCELLED


def test_a_payment_starts_once_per_key_and_never_for_a_cancelled_order(actors, small_menu):
    app = app_for(actors.customer)
    order = _place(app, three_lines(small_menu)).json()["order"]
    pay = f"{ORDERS}{order['number']}/payment/"

    first = post_json(app, pay, None, HTTP_IDEMPOTENCY_KEY="pay-1")
    again = post_json(app, pay, None, HTTP_IDEMPOTENCY_KEY="pay-1")

    assert first.status_code == again.status_code == 201
    assert again.json() == first.json() and again["Idempotent-Replayed"] == "true"
    assert Payment.objects.filter(order_id=order["number"]).count() == 2  # checkout's, and this one
    post_json(app, f"{ORDERS}{order['number']}/cancel/", {"version": order["version"]})
    refused = post_json(app, pay, None, HTTP_IDEMPOTENCY_KEY="pay-2")
    assert api_error(refused, 409)["code"] == "not_awaiting_payment"


# ---------------------------------------------------------------- idempotency


def test_the_same_key_and_body_answer_the_first_order_and_a_different_body_is_a_422(actors, small_menu):
    app = app_for(actors.customer)
    body = three_lines(small_menu)

    first = _place(app, body, HTTP_IDEMPOTENCY_KEY="order-7f3a")
    again = _place(app, body, HTTP_IDEMPOTENCY_KEY="order-7f3a")
    changed = _place(app, {**body, "contact_name": "Someone Else"}, HTTP_IDEMPOTENCY_KEY="order-7f3a")

    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again["Idempotent-Replayed"] == "true"
    assert api_error(changed, 422)["code"] == "idempotency_key_reused"
    assert Order.objects.count() == 1


def test_one_key_belongs_to_one_caller(actors, small_menu):
    body = three_lines(small_menu)

    mine = _place(app_for(actors.customer), body, HTTP_IDEMPOTENCY_KEY="shared-key")
    theirs = _place(app_for(actors.other_customer), body, HTTP_IDEMPOTENCY_KEY="shared-key")

    assert mine.status_code == theirs.status_code == 201
    assert mine.json()["order"]["number"] != theirs.json()["order"]["number"]


def test_a_refused_request_keeps_no_key_so_it_may_be_sent_again(
    actors, small_menu, django_capture_on_commit_callbacks
):
    app = app_for(actors.customer)
    body = three_lines(small_menu)
    with django_capture_on_commit_callbacks(execute=True):
        small_menu.fries.is_available = False
        small_menu.fries.save()
    assert api_error(_place(app, body, HTTP_IDEMPOTENCY_KEY="k1"), 400)["code"] == "item_unavailable"

    with django_capture_on_commit_callbacks(execute=True):
        small_menu.fries.is_available = True
        small_menu.fries.save()
    assert _place(app, body, HTTP_IDEMPOTENCY_KEY="k1").status_code == 201


@pytest.mark.parametrize(
    "key", ["", "x" * 256, "with space", "naïve"], ids=["empty", "long", "space", "non-ascii"]
)
def test_an_unusable_idempotency_key_is_a_400(actors, small_menu, key):
    response = _place(app_for(actors.customer), three_lines(small_menu), HTTP_IDEMPOTENCY_KEY=key)

    assert api_error(response, 400)["code"] == "invalid_idempotency_key"
    assert not Order.objects.exists()


def test_a_kept_key_is_forgotten_after_its_time(actors, small_menu, settings):
    from datetime import timedelta

    from django.utils import timezone

    from orders.idempotency import IdempotencyRecord, idempotency_records_purge

    app = app_for(actors.customer)
    _place(app, three_lines(small_menu), HTTP_IDEMPOTENCY_KEY="old-key")
    IdempotencyRecord.objects.update(
        created_at=timezone.now() - timedelta(hours=settings.IDEMPOTENCY_KEY_HOURS, seconds=1)
    )

    again = _place(
        app, {**three_lines(small_menu), "contact_name": "New Request"}, HTTP_IDEMPOTENCY_KEY="old-key"
    )

    assert again.status_code == 201 and "Idempotent-Replayed" not in again
    assert Order.objects.count() == 2
    IdempotencyRecord.objects.update(
        created_at=timezone.now() - timedelta(hours=settings.IDEMPOTENCY_KEY_HOURS, seconds=1)
    )
    assert idempotency_records_purge() == 1


# ---------------------------------------------------------------- cursor pagination


def test_the_cursor_stays_put_while_new_orders_arrive(actors, small_menu, rush_limits_lifted):
    app = app_for(actors.customer)
    placed = [_place(app, three_lines(small_menu)).json()["order"]["number"] for _ in range(5)]

    first = app.get(MINE, {"page_size": 2}).json()
    newer = [_place(app, three_lines(small_menu)).json()["order"]["number"] for _ in range(3)]
    second = app.get(first["next"]).json()
    third = app.get(second["next"]).json()

    seen = [o["number"] for page in (first, second, third) for o in page["results"]]
    assert seen == sorted(placed, reverse=True)  # every older order once, none of the new ones, in order
    assert third["next"] is None
    top = app.get(MINE, {"page_size": 3}).json()
    assert [o["number"] for o in top["results"]] == sorted(newer, reverse=True)


@pytest.mark.parametrize("made_up", ["o=many", "p=abc", f"p={2**64}", "p=-1"])
def test_a_made_up_cursor_is_a_404_in_the_error_shape(actors, made_up):
    cursor = base64.b64encode(made_up.encode()).decode()

    assert api_error(app_for(actors.customer).get(MINE, {"cursor": cursor}), 404)["code"] == "not_found"


# ---------------------------------------------------------------- who may order, and how


def test_a_browser_orders_with_its_session_and_must_send_the_csrf_token(actors, small_menu):
    browser = browser_for(actors.customer)

    without = _place(browser, three_lines(small_menu))
    browser.get("/menu/")  # the page that sets the CSRF cookie
    token = browser.cookies["csrftoken"].value
    with_token = _place(browser, three_lines(small_menu), HTTP_X_CSRFTOKEN=token)

    assert api_error(without, 403)["code"] == "forbidden"
    assert with_token.status_code == 201


def test_anonymous_callers_get_a_401_and_place_nothing(small_menu):
    assert api_error(_place(Client(), three_lines(small_menu)), 401)["code"] == "not_authenticated"
    assert not Order.objects.exists()


def test_a_partner_places_orders_for_its_customers_and_follows_only_those(
    actors, small_menu, partner, partner_key
):
    app = partner_app(partner_key(ApiScope.ORDERS_WRITE, ApiScope.ORDERS_READ))
    customers_order = _place(app_for(actors.customer), three_lines(small_menu)).json()["order"]["number"]

    placed = _place(app, three_lines(small_menu))

    assert placed.status_code == 201
    number = placed.json()["order"]["number"]
    assert Order.objects.get(pk=number).partner == partner
    assert Order.objects.get(pk=number).events.get().actor_label == f"partner:{partner.name}"
    assert [o["number"] for o in app.get(MINE).json()["results"]] == [number]
    assert app.get(f"{ORDERS}{number}/").json()["status"] == OrderStatus.AWAITING_PAYMENT
    assert api_error(app.get(f"{ORDERS}{customers_order}/"), 404)["code"] == "not_found"
    # Cancelling is for people: the key is refused at that door.
    assert (
        api_error(post_json(app, f"{ORDERS}{number}/cancel/", {"version": 1}), 403)["code"]
        == "key_not_accepted"
    )


def test_a_partner_key_that_may_only_read_places_nothing(small_menu, partner_key):
    response = _place(partner_app(partner_key(ApiScope.ORDERS_READ)), three_lines(small_menu))

    assert api_error(response, 403)["code"] == "missing_scope"
    assert not Order.objects.exists()


def test_with_online_ordering_off_the_api_answers_503_like_the_pages(actors, small_menu):
    Switch.objects.update_or_create(name=SWITCH, defaults={"active": False})

    response = _place(app_for(actors.customer), three_lines(small_menu))

    assert api_error(response, 503)["code"] == "ordering_closed"
    assert int(response["Retry-After"]) > 0


def test_placing_spends_the_checkout_pages_budget(actors, small_menu, settings):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "checkout": "100/10m/ip,2/10m/user"}
    app = app_for(actors.customer)

    answers = [_place(app, three_lines(small_menu)) for _ in range(3)]

    assert [answer.status_code for answer in answers] == [201, 201, 429]
    assert answers[0]["RateLimit-Remaining"] == "1"
    assert api_error(answers[2], 429)["code"] == "rate_limited"
    assert Order.objects.count() == 2


# ---------------------------------------------------------------- hostile bodies


def _hostile(menu) -> dict[str, object]:
    good = three_lines(menu)
    return {
        "wrong types": {**good, "lines": "burger"},
        "a quantity as text": {**good, "lines": [{"item": menu.fries.pk, "quantity": "many"}]},
        "an id beyond 64 bits": {**good, "lines": [{"item": 2**64, "quantity": 1}]},
        "a huge array": {**good, "lines": [{"item": menu.fries.pk, "quantity": 1}] * 5000},
        "options galore": {**good, "lines": [{"item": menu.fries.pk, "quantity": 1, "options": [1] * 1000}]},
        "an unknown field": {**good, "total_minor": 1},
        "a price in a line": {
            **good,
            "lines": [{"item": menu.fries.pk, "quantity": 1, "unit_price_minor": 1}],
        },
        "a one-megabyte name": {**good, "contact_name": "A" * 1_000_000},
        "not an object": [good],
        "null": None,
        "a control character": {**good, "contact_name": "Ada\x00"},
        "a quantity past the menu's limit": {**good, "lines": [{"item": menu.fries.pk, "quantity": 9999}]},
    }


@pytest.mark.parametrize(
    "case",
    [
        "wrong types",
        "a quantity as text",
        "an id beyond 64 bits",
        "a huge array",
        "options galore",
        "an unknown field",
        "a price in a line",
        "a one-megabyte name",
        "not an object",
        "null",
        "a control character",
        "a quantity past the menu's limit",
    ],
)
def test_a_hostile_order_body_is_a_4xx_in_the_error_shape_and_changes_nothing(actors, small_menu, case):
    body = _hostile(small_menu)[case]

    response = post_json(app_for(actors.customer), ORDERS, body, HTTP_IDEMPOTENCY_KEY="hostile")

    assert 400 <= response.status_code < 500
    api_error(response, response.status_code)
    assert not Order.objects.exists() and not Payment.objects.exists()


def test_a_body_that_is_not_json_is_a_400_and_one_of_another_type_a_415(actors, small_menu):
    app = app_for(actors.customer)

    broken = app.post(ORDERS, "{not json", content_type="application/json")
    form = app.post(ORDERS, {"order_type": "pickup"})

    assert api_error(broken, 400)["code"] == "malformed_body"
    assert api_error(form, 415)["code"] == "unsupported_media_type"
    assert not Order.objects.exists()


def test_hostile_cancel_and_payment_bodies_change_nothing(actors, small_menu):
    app = app_for(actors.customer)
    order = _place(app, three_lines(small_menu)).json()["order"]
    cancel = f"{ORDERS}{order['number']}/cancel/"

    for body in (
        {"version": "one"},
        {"version": 2**40},
        {"version": 1, "status": "paid"},
        [1],
        {"reason": "x" * 600, "version": 1},
    ):
        api_error(post_json(app, cancel, body), 400)
    assert (
        api_error(
            app.post(cancel, json.dumps({"version": 1}) + "x" * 70_000, content_type="application/json"), 413
        )["code"]
        == "too_large"
    )
    assert Order.objects.get().status == OrderStatus.AWAITING_PAYMENT
    assert api_error(post_json(app, f"{ORDERS}{2**63}/cancel/", {"version": 1}), 404)
    assert client_for(None).get(f"{ORDERS}0/").status_code == 404


# ---------------------------------------------------------------- coupons


def test_an_order_placed_with_a_coupon_carries_its_discount_and_a_wrong_code_makes_nothing(
    actors, small_menu
):
    CouponFactory(code="WELCOME10", value=10, minimum_subtotal_minor=2000)
    app = app_for(actors.customer)

    wrong = api_error(_place(app, {**three_lines(small_menu), "coupon": "NOPE"}), 400)
    assert wrong["code"] == "coupon_refused" and wrong["message"] == COUPON_REFUSED
    assert not Order.objects.exists()

    placed = _place(app, {**three_lines(small_menu), "coupon": "welcome10"})
    assert placed.status_code == 201, placed.content
    order = placed.json()["order"]
    assert (order["subtotal_minor"], order["discount_minor"], order["total_minor"]) == (2700, 270, 2430)
    assert order["coupon_code"] == "WELCOME10"
    assert Payment.objects.get(order__pk=order["number"]).amount_minor == 2430


def test_a_code_that_cannot_be_a_code_is_a_validation_error(actors, small_menu):
    body = {**three_lines(small_menu), "coupon": "<script>"}
    error = api_error(_place(app_for(actors.customer), body), 400)

    assert error["code"] == "invalid" and "coupon" in error["data"]["fields"]
    assert not Order.objects.exists()


def test_guessing_codes_over_the_api_spends_the_coupon_budget(actors, small_menu, settings):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "coupon": "3/m/user"}
    app = app_for(actors.customer)

    answers = [_place(app, {**three_lines(small_menu), "coupon": f"GUESS{n}"}) for n in range(4)]

    assert [answer.status_code for answer in answers] == [400, 400, 400, 429]
    assert api_error(answers[-1], 429)["code"] == "rate_limited"
    # An order without a code spends no coupon try.
    assert _place(app, three_lines(small_menu)).status_code == 201


# ---------------------------------------------------------------- tables


def test_a_tables_order_over_the_api_is_for_the_floor_staff(actors, small_menu):
    table = TableFactory(label="7")
    body = {**three_lines(small_menu), "order_type": "dine_in", "table_number": "7"}

    refused = api_error(_place(app_for(actors.customer), body), 400)
    placed = _place(app_for(actors.waiter), body)

    assert refused["code"] == "dine_in_by_staff"
    assert placed.status_code == 201, placed.content
    assert Order.objects.get().table == table
