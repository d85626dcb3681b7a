"""Every door that costs us or can be abused is behind the one limiter (restaurant.rate_limits).

Budgets per session, per client IP and per signed-in user; past one, 429 as
the friendly page or the JSON error body, with Retry-After and the RateLimit
headers, and nothing done.
"""

from __future__ import annotations

import json
import logging

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.test import Client
from django.urls import reverse

from orders.cart import SessionCart
from restaurant.rate_limits import Budget, parse_budgets, rate_limited
from tests.conftest import client_for
from tests.orders.flows import add_to_cart, checkout

pytestmark = pytest.mark.django_db

ATTACKER_IP = "203.0.113.9"
OTHER_IP = "198.51.100.7"


@pytest.fixture
def budgets(settings):
    """Sets the budgets of the named limits for one test; the others keep their defaults."""

    def set_budgets(**specs: str) -> None:
        settings.RATE_LIMITS = {**settings.RATE_LIMITS, **specs}

    return set_budgets


def _client_with_session(ip: str = ATTACKER_IP) -> Client:
    client = Client(REMOTE_ADDR=ip)
    client.session.save()  # as a browser that has been here before: the session budget applies
    return client


def _add(client: Client, item, **headers: str):
    return client.post(reverse("orders:cart_add"), {"item": item.pk, "quantity": 1}, **headers)


def _from(client: Client, ip: str) -> Client:
    client.defaults["REMOTE_ADDR"] = ip
    return client


def test_cart_additions_past_the_session_budget_are_refused_with_the_friendly_page(small_menu, budgets):
    budgets(cart="3/m/session")
    client = _client_with_session()

    answers = [add_to_cart(client, small_menu.fries) for _ in range(4)]

    assert [answer.status_code for answer in answers] == [302, 302, 302, 429]
    assert [answer["RateLimit-Remaining"] for answer in answers] == ["2", "1", "0", "0"]
    assert {answer["RateLimit-Limit"] for answer in answers} == {"3"}
    refused = answers[-1]
    assert 0 < int(refused["Retry-After"]) <= 60
    assert 0 < int(refused["RateLimit-Reset"]) <= 60
    assert "Too many attempts" in refused.content.decode()
    assert refused["Content-Type"].startswith("text/html")
    # The refused addition changed nothing: the cart holds the three that passed.
    assert SessionCart(client.session).cart_lines()[0].quantity == 3


def test_a_program_past_the_budget_gets_the_json_error_body(small_menu, budgets):
    budgets(cart="1/m/session")
    client = _client_with_session()
    _add(client, small_menu.fries, HTTP_ACCEPT="application/json")

    refused = _add(client, small_menu.fries, HTTP_ACCEPT="application/json")

    assert refused.status_code == 429
    body = json.loads(refused.content)
    assert body["error"]["code"] == "rate_limited"
    assert body["error"]["request_id"]
    assert int(refused["Retry-After"]) > 0
    assert refused["RateLimit-Limit"] == "1"
    assert refused["RateLimit-Remaining"] == "0"


def test_every_budget_of_a_door_counts_not_only_the_last_one(small_menu, budgets):
    budgets(cart="2/m/session,100/m/ip,100/m/user")
    client = _client_with_session()

    statuses = [add_to_cart(client, small_menu.fries).status_code for _ in range(3)]

    assert statuses == [302, 302, 429]


def test_a_door_whose_only_budget_does_not_apply_lets_the_request_through(small_menu, budgets):
    budgets(cart="1/m/user")  # a guest has no user budget

    statuses = [add_to_cart(_client_with_session(), small_menu.fries).status_code for _ in range(2)]

    assert statuses == [302, 302]


def test_clients_from_one_address_share_its_budget_and_another_address_is_untouched(small_menu, budgets):
    budgets(cart="100/m/session,3/m/ip")
    # A new session for every request (a bot that drops cookies) is still one address.
    statuses = [add_to_cart(_client_with_session(), small_menu.fries).status_code for _ in range(4)]
    assert statuses == [302, 302, 302, 429]

    neighbour = _client_with_session(OTHER_IP)
    assert add_to_cart(neighbour, small_menu.fries).status_code == 302


def test_a_signed_in_user_has_one_budget_across_sessions_and_addresses(small_menu, actors, budgets):
    budgets(cart="100/m/session,100/m/ip,2/m/user")
    phone = _from(client_for(actors.customer), ATTACKER_IP)
    laptop = _from(client_for(actors.customer), OTHER_IP)

    assert add_to_cart(phone, small_menu.fries).status_code == 302
    assert add_to_cart(laptop, small_menu.fries).status_code == 302
    assert add_to_cart(_from(laptop, "192.0.2.44"), small_menu.fries).status_code == 429

    # Somebody else on the same address as the phone still orders.
    neighbour = _from(client_for(actors.other_customer), ATTACKER_IP)
    assert add_to_cart(neighbour, small_menu.fries).status_code == 302


def test_every_budget_of_a_door_is_checked_wherever_it_stands_in_the_list(small_menu, actors, budgets):
    budgets(cart="2/m/session,100/m/ip,100/m/user")
    client = _client_with_session()

    statuses = [add_to_cart(client, small_menu.fries).status_code for _ in range(3)]

    # The session's budget, first of three, is the one that trips.
    assert statuses == [302, 302, 429]


def test_a_visitor_no_budget_applies_to_passes_untouched(small_menu, budgets):
    budgets(cart="1/m/user")
    guest = Client(REMOTE_ADDR=ATTACKER_IP)

    answers = [add_to_cart(guest, small_menu.fries) for _ in range(2)]

    assert [answer.status_code for answer in answers] == [302, 302]
    assert "RateLimit-Remaining" not in answers[-1]


@pytest.mark.parametrize("trusted_proxies", [0, 1])
def test_rotating_x_forwarded_for_from_one_connection_is_still_one_client(
    small_menu, budgets, settings, trusted_proxies
):
    settings.TRUSTED_PROXY_COUNT = trusted_proxies
    budgets(cart="100/m/session,3/m/ip")

    def knock(n: int):
        # What the client writes itself, new every time. With one proxy of
        # ours in front, that proxy appends the address it saw: always the same.
        forged = f"10.0.{n}.{n}"
        header = forged if trusted_proxies == 0 else f"{forged}, {ATTACKER_IP}"
        proxy_address = "127.0.0.1" if trusted_proxies else ATTACKER_IP
        client = _client_with_session(proxy_address)
        return _add(client, small_menu.fries, HTTP_X_FORWARDED_FOR=header)

    assert [knock(n).status_code for n in range(5)] == [302, 302, 302, 429, 429]

    if trusted_proxies:
        # Behind the proxy, a different client (the entry the proxy wrote) has its own budget.
        other = _client_with_session("127.0.0.1")
        answer = _add(other, small_menu.fries, HTTP_X_FORWARDED_FOR=f"10.9.9.9, {OTHER_IP}")
        assert answer.status_code == 302


def test_page_views_of_a_limited_door_spend_nothing(small_menu, budgets):
    budgets(checkout="1/m/session,1/m/ip")
    client = _client_with_session()
    add_to_cart(client, small_menu.fries)

    pages = [client.get(reverse("orders:checkout")) for _ in range(5)]

    assert {page.status_code for page in pages} == {200}
    assert "RateLimit-Limit" not in pages[-1]
    assert checkout(client).status_code == 302


def _knock_cart_update(client: Client, menu) -> object:
    return client.post(reverse("orders:cart_update"), {"line": "nope", "quantity": 1})


def _knock_cart_remove(client: Client, menu) -> object:
    return client.post(reverse("orders:cart_remove"), {"line": "nope"})


def _knock_checkout(client: Client, menu) -> object:
    return client.post(reverse("orders:checkout"), {"checkout_token": "0" * 32})


def _knock_pay(client: Client, menu) -> object:
    return client.post(reverse("orders:pay", kwargs={"token": "no-such-order"}))


def _knock_sandbox_pay(client: Client, menu) -> object:
    return client.post(
        reverse("orders:sandbox_checkout", kwargs={"reference": "no-such"}), {"outcome": "approve"}
    )


def _knock_cancel(client: Client, menu) -> object:
    return client.post(reverse("orders:cancel", kwargs={"token": "no-such-order"}), {"version": 1})


def _knock_sign_up(client: Client, menu) -> object:
    return client.post(reverse("account_signup"), {"email": "not-an-address"})


DOORS = {
    "cart add": ("cart", lambda client, menu: add_to_cart(client, menu.fries)),
    "cart update": ("cart", _knock_cart_update),
    "cart remove": ("cart", _knock_cart_remove),
    "checkout": ("checkout", _knock_checkout),
    "pay": ("payment", _knock_pay),
    "sandbox pay": ("payment", _knock_sandbox_pay),
    "cancel": ("cancel", _knock_cancel),
    "sign-up": ("sign_up", _knock_sign_up),
}


@pytest.mark.parametrize("door", DOORS)
def test_every_door_that_costs_us_goes_through_the_one_limiter(small_menu, budgets, caplog, door):
    caplog.set_level(logging.INFO, logger="brigade.security")
    name, knock = DOORS[door]
    budgets(**{name: "2/m/ip"})
    client = _client_with_session()

    answers = [knock(client, small_menu) for _ in range(3)]

    # Whatever the door made of the first two (a bad form, an unknown order), they were counted.
    assert [answer.status_code == 429 for answer in answers] == [False, False, True], door
    refused = answers[-1]
    assert refused["RateLimit-Limit"] == "2"
    assert refused["RateLimit-Remaining"] == "0"
    assert int(refused["Retry-After"]) > 0
    assert "Too many attempts" in refused.content.decode()
    [event] = [record for record in caplog.records if record.getMessage() == "rate limited"]
    assert (event.limit, event.budget, event.ip) == (name, "ip", ATTACKER_IP)
    # Another address is not affected.
    assert knock(_client_with_session(OTHER_IP), small_menu).status_code != 429


def test_sign_in_doors_answer_the_same_429_without_saying_which_budget_tripped(actors, settings):
    settings.SIGN_IN_RATE_PER_IP = "2/m"
    client = Client(REMOTE_ADDR=ATTACKER_IP)
    answers = [
        client.post(reverse("account_login"), {"login": actors.customer.email, "password": f"guess-{n}"})
        for n in range(3)
    ]

    refused = answers[-1]
    assert refused.status_code == 429
    assert int(refused["Retry-After"]) > 0
    assert refused["RateLimit-Remaining"] == "0"
    assert int(refused["RateLimit-Reset"]) > 0
    # The IP budget and the account's differ in size: the limit would tell which one it was.
    assert "RateLimit-Limit" not in refused


def test_budgets_are_read_as_allauth_writes_them_and_a_bad_one_fails_loudly(settings):
    assert parse_budgets("10/10m/session, 30/h/ip,5/m/user") == (
        Budget(rate="10/10m", key="session"),
        Budget(rate="30/h", key="ip"),
        Budget(rate="5/m", key="user"),
    )
    for wrong in ("10/m/everyone", "10/m", "ten/m/ip", "10/fortnight/ip"):
        with pytest.raises(ImproperlyConfigured):
            parse_budgets(wrong)
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "coupon": "10/m/everyone"}
    with pytest.raises(ImproperlyConfigured):
        rate_limited("cart")
    with pytest.raises(ImproperlyConfigured):
        rate_limited("no-such-door")
