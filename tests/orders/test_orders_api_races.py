"""The API's orders under real concurrency (PostgreSQL): one key, one order; a cursor while orders arrive."""

from __future__ import annotations

import pytest

from orders.idempotency import IdempotencyRecord
from orders.models import Order, Payment
from tests.api import app_for, post_json
from tests.concurrency import run_simultaneously
from tests.orders.flows import three_lines

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_two_simultaneous_requests_with_one_key_make_one_order(actors, small_menu, rush_limits_lifted):
    apps = [app_for(actors.customer), app_for(actors.customer)]
    body = three_lines(small_menu)

    def place(app):
        return lambda: post_json(app, "/api/v1/orders/", body, HTTP_IDEMPOTENCY_KEY="tap-tap")

    answers = run_simultaneously(*(place(app) for app in apps))

    assert Order.objects.count() == 1
    assert Payment.objects.count() == 1
    statuses = sorted(answer.status_code for answer in answers)
    # The second either waited for the first's claim and was told to retry, or got its answer.
    assert statuses in ([201, 201], [201, 409]), statuses
    made = [answer.json()["order"]["number"] for answer in answers if answer.status_code == 201]
    assert set(made) == {Order.objects.get().pk}
    if statuses == [201, 409]:
        refused = next(answer for answer in answers if answer.status_code == 409)
        assert refused.json()["error"]["code"] == "idempotency_key_in_use"
    # Sent again once both are done, the key answers the first order.
    again = post_json(apps[0], "/api/v1/orders/", body, HTTP_IDEMPOTENCY_KEY="tap-tap")
    assert again.status_code == 201 and again["Idempotent-Replayed"] == "true"
    assert IdempotencyRecord.objects.count() == 1


def test_ten_simultaneous_requests_with_one_key_make_one_order(actors, small_menu, rush_limits_lifted):
    apps = [app_for(actors.customer) for _ in range(10)]
    body = three_lines(small_menu)

    answers = run_simultaneously(
        *(lambda app=app: post_json(app, "/api/v1/orders/", body, HTTP_IDEMPOTENCY_KEY="k") for app in apps)
    )

    assert Order.objects.count() == 1
    assert {answer.status_code for answer in answers} <= {201, 409}


def test_paging_while_orders_arrive_at_the_same_time_skips_none_and_repeats_none(
    actors, small_menu, rush_limits_lifted
):
    app = app_for(actors.customer)
    older = [
        post_json(app, "/api/v1/orders/", three_lines(small_menu)).json()["order"]["number"] for _ in range(6)
    ]
    first = app.get("/api/v1/orders/mine/", {"page_size": 2}).json()

    def page_on():
        seen, page = [o["number"] for o in first["results"]], first
        while page["next"]:
            page = app.get(page["next"]).json()
            seen += [o["number"] for o in page["results"]]
        return seen

    def order_more():
        other = app_for(actors.customer)
        return [post_json(other, "/api/v1/orders/", three_lines(small_menu)).status_code for _ in range(4)]

    seen, placed = run_simultaneously(page_on, order_more)

    assert placed == [201] * 4
    assert seen == sorted(older, reverse=True)
