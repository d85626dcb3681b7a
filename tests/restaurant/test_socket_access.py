"""A socket lives only as long as the right to it: signing out, deactivation, a lost role or a
changed password close it with 4403, at once and at the latest at its next resync or ping."""

from __future__ import annotations

import copy
import json
import re
import time
import uuid

import pytest
import requests
from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.contrib.auth.models import Group
from django.test import Client
from django.urls import reverse
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from accounts.models import User
from accounts.roles import Actor
from accounts.session_policy import SIGNED_IN_AT
from orders.models import Order
from orders.pricing import CartLine
from orders.services import OrderDetails, order_place
from restaurant.sessions import SessionStore
from tests.accounts.test_people_admin import _change_form
from tests.conftest import PASSWORD, client_for
from tests.harness import daphne as daphne_harness
from tests.kitchen import conftest as kitchen_setup
from tests.requirements import has_redis, need
from tests.sockets import socket_for, unreachable_channel_layer

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("eager_tasks")]

BOARD = "/ws/kitchen/"
CLOSED_FORBIDDEN = {"type": "websocket.close", "code": 4403}

daphne_instance = daphne_harness.daphne_instance
kitchen = kitchen_setup.kitchen


@pytest.fixture(params=["in-memory", "redis"])
def channel_layer(request, settings):  # type: ignore[no-untyped-def]
    """Each test runs on the in-memory layer (one process) and on the Redis layer production uses."""
    if request.param == "in-memory":
        settings.CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    else:
        need(has_redis(), "needs Redis: set REDIS_URL")
        # Redis pub/sub ignores the database number: a prefix of its own keeps
        # broadcasts of other test runs on the same server off these sockets.
        layer = copy.deepcopy(settings.CHANNEL_LAYERS)
        layer["default"]["CONFIG"]["prefix"] = f"brigade:test:{uuid.uuid4().hex}"
        settings.CHANNEL_LAYERS = layer
    return request.param


def _signed_in(user: User) -> Client:
    browser = Client()
    browser.force_login(user, backend="django.contrib.auth.backends.ModelBackend")
    return browser


def _sign_out(browser: Client) -> int:
    return browser.post(reverse("account_logout")).status_code


def _order(menu, owner: User | None = None) -> Order:
    order, _ = order_place(
        lines=[CartLine(menu.fries.pk, 1)],
        details=OrderDetails(order_type="pickup", contact_name="Ada", contact_email="ada@example.test"),
        actor=Actor.for_user(owner) if owner else Actor.guest(),
    )
    return order


def _tracker(order: Order, browser: Client) -> WebsocketCommunicator:
    return socket_for(f"/ws/orders/{order.tracking_token}/", browser=browser)


def _set_roles(manager: Client, user: User, *roles: str) -> int:
    """What a manager does in admin: the user's change form, saved with these roles."""
    data = _change_form(manager, user) | {"groups": [Group.objects.get(name=role).pk for role in roles]}
    return manager.post(reverse("admin:accounts_user_change", args=[user.pk]), data).status_code


async def _open(communicator: WebsocketCommunicator) -> dict:
    connected, _ = await communicator.connect()
    assert connected
    return await communicator.receive_json_from()


async def _still_open(communicator: WebsocketCommunicator) -> dict:
    # A resync is answered with the state (after asking again for the right), or a 4403.
    await communicator.send_json_to({"type": "resync"})
    return await communicator.receive_json_from(timeout=5)


# ---------------------------------------------------------------- the re-check on resync and ping


@pytest.mark.parametrize("message", [{"type": "resync"}, {"type": "ping", "seq": 0}])
def test_a_signed_out_chefs_board_is_closed_at_its_next_message_even_if_the_sign_out_was_not_heard(
    actors, channel_layer, message, caplog
):
    # Given a chef's board, open in the browser they are signed in with
    browser = _signed_in(actors.chef)
    board = socket_for(BOARD, browser=browser)

    async def run():
        await _open(board)
        # When they sign out in a process that cannot reach the channel layer
        with unreachable_channel_layer():
            signed_out = await database_sync_to_async(_sign_out)(browser)
        # and the board then asks for the state
        await board.send_json_to(message)
        answer = await board.receive_output(timeout=5)
        await board.disconnect()
        return signed_out, answer

    signed_out, answer = async_to_sync(run)()

    # Then the sign-out worked (the lost broadcast is logged), and the board got a 4403 instead of the board
    assert answer == CLOSED_FORBIDDEN
    assert signed_out == 302
    assert "socket access broadcast failed" in caplog.messages


@pytest.mark.usefixtures("kitchen")
def test_a_board_that_never_pings_gets_no_more_tickets_once_its_session_ended_silently(
    small_menu, actors, channel_layer, settings
):
    # Given a board whose client never pings, past the time it is due to be asked again
    settings.SOCKET_RECHECK_SECONDS = 0
    browser = _signed_in(actors.chef)
    board = socket_for(BOARD, browser=browser)

    async def run():
        await _open(board)
        # When its session ends without a sign-out to announce it (expired, deleted)
        await database_sync_to_async(_end_session)(browser)
        # and a paid order puts a ticket on every board
        await database_sync_to_async(kitchen_setup.on_the_board)(small_menu)
        answer = await board.receive_output(timeout=5)
        await board.disconnect()
        return answer

    # Then this board is closed instead of being sent the ticket
    assert async_to_sync(run)() == CLOSED_FORBIDDEN


@pytest.mark.usefixtures("kitchen")
def test_a_board_that_never_pings_is_closed_by_its_own_recheck_with_no_event_needed(
    actors, channel_layer, settings
):
    # Given a board whose client never pings, asked again every second
    settings.SOCKET_RECHECK_SECONDS = 1
    browser = _signed_in(actors.chef)
    board = socket_for(BOARD, browser=browser)

    async def run():
        await _open(board)
        # When its session ends silently and no ticket ever comes
        await database_sync_to_async(_end_session)(browser)
        answer = await board.receive_output(timeout=5)
        await board.disconnect()
        return answer

    # Then the board closes itself within the recheck time
    assert async_to_sync(run)() == CLOSED_FORBIDDEN


@pytest.mark.usefixtures("kitchen")
def test_a_board_still_allowed_is_rechecked_without_a_message_to_its_client(actors, channel_layer, settings):
    settings.SOCKET_RECHECK_SECONDS = 1
    board = socket_for(BOARD, browser=_signed_in(actors.chef))

    async def run():
        await _open(board)
        # Several rechecks pass; the client hears nothing until it asks
        nothing = await board.receive_nothing(timeout=2.5)
        await board.send_json_to({"type": "resync"})
        answer = await board.receive_json_from(timeout=5)
        await board.disconnect()
        return nothing, answer

    nothing, answer = async_to_sync(run)()
    assert nothing is True
    assert answer["type"] == "board.snapshot"


def _end_session(browser: Client) -> None:
    SessionStore(browser.cookies["sessionid"].value).delete()


# ---------------------------------------------------------------- closed at once, without a message


def test_signing_out_closes_the_board_at_once(actors, channel_layer):
    browser = _signed_in(actors.chef)
    board = socket_for(BOARD, browser=browser)

    async def run():
        await _open(board)
        assert await database_sync_to_async(_sign_out)(browser) == 302
        answer = await board.receive_output(timeout=5)
        await board.disconnect()
        return answer

    assert async_to_sync(run)() == CLOSED_FORBIDDEN


def test_a_manager_taking_the_chef_role_away_in_admin_closes_the_board_at_once(actors, channel_layer):
    board = socket_for(BOARD, user=actors.chef)
    manager = client_for(actors.manager)

    async def run():
        await _open(board)
        assert await database_sync_to_async(_set_roles)(manager, actors.chef, "waiter") == 302
        answer = await board.receive_output(timeout=5)
        await board.disconnect()
        return answer

    assert async_to_sync(run)() == CLOSED_FORBIDDEN


def _removed_from_the_chef_group(actors) -> None:
    Group.objects.get(name="chef").user_set.remove(actors.chef)


def _chef_group_emptied(actors) -> None:
    Group.objects.get(name="chef").user_set.clear()


def _chef_group_deleted(actors) -> None:
    Group.objects.get(name="chef").delete()


@pytest.mark.parametrize(
    "change",
    [_removed_from_the_chef_group, _chef_group_emptied, _chef_group_deleted],
    ids=lambda c: c.__name__[1:],
)
def test_the_chef_role_taken_away_from_the_groups_side_closes_the_board_at_once(
    actors, channel_layer, change
):
    board = socket_for(BOARD, user=actors.chef)

    async def run():
        await _open(board)
        await database_sync_to_async(change)(actors)
        answer = await board.receive_output(timeout=5)
        await board.disconnect()
        return answer

    assert async_to_sync(run)() == CLOSED_FORBIDDEN


def _deactivate_in_admin(actors) -> None:
    data = _change_form(None, actors.chef) | {"groups": [Group.objects.get(name="chef").pk]}
    data.pop("is_active")
    response = client_for(actors.manager).post(
        reverse("admin:accounts_user_change", args=[actors.chef.pk]), data
    )
    assert response.status_code == 302


def _deactivate_in_code(actors) -> None:
    chef = User.objects.get(pk=actors.chef.pk)
    chef.is_active = False
    chef.save()


def _change_password_elsewhere(actors) -> None:
    # On another device: Django ends every other session of the account.
    phone = _signed_in(actors.chef)
    response = phone.post(
        reverse("account_change_password"),
        {
            "oldpassword": PASSWORD,
            "password1": "a-new-kitchen-password",
            "password2": "a-new-kitchen-password",
        },
    )
    assert response.status_code == 302


@pytest.mark.parametrize(
    "change",
    [_deactivate_in_admin, _deactivate_in_code, _change_password_elsewhere],
    ids=lambda c: c.__name__[1:],
)
def test_deactivation_or_a_password_change_elsewhere_closes_the_board_at_once(actors, channel_layer, change):
    board = socket_for(BOARD, user=actors.chef)

    async def run():
        await _open(board)
        await database_sync_to_async(change)(actors)
        answer = await board.receive_output(timeout=5)
        await board.disconnect()
        return answer

    assert async_to_sync(run)() == CLOSED_FORBIDDEN


def test_a_superuser_who_is_no_longer_one_loses_the_board_at_once(channel_layer):
    owner = User.objects.create_user(username="root", email="root@example.test", is_superuser=True)
    board = socket_for(BOARD, user=owner)

    def demote() -> None:
        owner.is_superuser = False
        owner.save()

    async def run():
        await _open(board)
        await database_sync_to_async(demote)()
        answer = await board.receive_output(timeout=5)
        await board.disconnect()
        return answer

    assert async_to_sync(run)() == CLOSED_FORBIDDEN


# ---------------------------------------------------------------- order sockets


def test_a_signed_out_customers_order_socket_is_closed_at_its_next_ping_even_if_the_sign_out_was_not_heard(
    small_menu, actors, channel_layer
):
    browser = _signed_in(actors.customer)
    tracker = _tracker(_order(small_menu, actors.customer), browser)

    async def run():
        await _open(tracker)
        with unreachable_channel_layer():
            assert await database_sync_to_async(_sign_out)(browser) == 302
        await tracker.send_json_to({"type": "ping", "seq": 0})
        answer = await tracker.receive_output(timeout=5)
        await tracker.disconnect()
        return answer

    assert async_to_sync(run)() == CLOSED_FORBIDDEN


def test_a_chef_turned_waiter_loses_the_board_but_keeps_following_their_own_order(
    small_menu, actors, channel_layer
):
    # Given a chef with the board and their own order's page open in one browser
    browser = _signed_in(actors.chef)
    board = socket_for(BOARD, browser=browser)
    tracker = _tracker(_order(small_menu, actors.chef), browser)
    manager = client_for(actors.manager)

    async def run():
        await _open(board)
        await _open(tracker)
        # When a manager makes them a waiter
        assert await database_sync_to_async(_set_roles)(manager, actors.chef, "waiter") == 302
        board_answer = await board.receive_output(timeout=5)
        tracker_answer = await _still_open(tracker)
        await board.disconnect()
        await tracker.disconnect()
        return board_answer, tracker_answer

    board_answer, tracker_answer = async_to_sync(run)()

    # Then the board is closed, and the order page still follows the order
    assert board_answer == CLOSED_FORBIDDEN
    assert tracker_answer["type"] == "order.snapshot"


def test_signing_out_closes_the_account_orders_socket_but_a_guest_orders_link_still_works(
    small_menu, actors, channel_layer
):
    # Given a signed-in customer following an order of their account, and a guest order
    # they placed before signing in (its link is all a guest needs)
    browser = _signed_in(actors.customer)
    own = _tracker(_order(small_menu, actors.customer), browser)
    guest = _tracker(_order(small_menu), browser)

    async def run():
        await _open(own)
        await _open(guest)
        # When they sign out
        assert await database_sync_to_async(_sign_out)(browser) == 302
        own_answer = await own.receive_output(timeout=5)
        guest_answer = await _still_open(guest)
        await own.disconnect()
        await guest.disconnect()
        return own_answer, guest_answer

    own_answer, guest_answer = async_to_sync(run)()

    # Then the account's order closes; the guest order's page goes on as a guest's would
    assert own_answer == CLOSED_FORBIDDEN
    assert guest_answer["type"] == "order.snapshot"


def test_someone_elses_role_change_leaves_a_customers_order_socket_alone(small_menu, actors, channel_layer):
    tracker = _tracker(_order(small_menu, actors.customer), _signed_in(actors.customer))
    manager = client_for(actors.manager)

    async def run():
        await _open(tracker)
        assert await database_sync_to_async(_set_roles)(manager, actors.chef, "waiter") == 302
        answer = await _still_open(tracker)
        await tracker.disconnect()
        return answer

    assert async_to_sync(run)()["type"] == "order.snapshot"


# ---------------------------------------------------------------- on real daphne


@pytest.mark.postgres
@pytest.mark.redis
def test_signing_out_on_daphne_closes_the_board_socket_with_4403(actors, daphne_instance):
    # Given a chef signed in to a real daphne, with the board open
    web = daphne_instance()
    cookie = _signed_in(actors.chef).cookies["sessionid"].value
    http = requests.Session()
    http.cookies.set("sessionid", cookie)
    with connect(
        f"{web.ws_url}/ws/kitchen/", origin=web.url, additional_headers={"Cookie": f"sessionid={cookie}"}
    ) as board:
        assert json.loads(board.recv(timeout=10))["type"] == "board.snapshot"

        # When they press "Sign out" on a page of that daphne
        page = http.get(f"{web.url}/", timeout=10)
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
        answer = http.post(
            f"{web.url}{reverse('account_logout')}",
            data={"csrfmiddlewaretoken": token},
            headers={"Referer": f"{web.url}/"},
            timeout=10,
            allow_redirects=False,
        )
        assert answer.status_code == 302, answer.text[:2000]

        # Then the board socket is closed with 4403, without the board sending anything
        with pytest.raises(ConnectionClosed) as closed:
            while True:
                assert json.loads(board.recv(timeout=10))["type"] != "board.snapshot"
        assert closed.value.rcvd is not None, web.log()
        assert closed.value.rcvd.code == 4403, web.log()


# ---------------------------------------------------------------- session lifetimes and logs


def test_a_chefs_board_closes_at_its_next_ping_once_the_shift_is_over(actors, channel_layer, settings):
    # Given a chef's board, and a session signed in longer ago than a staff session lives
    browser = _signed_in(actors.chef)
    board = socket_for(BOARD, browser=browser)
    session = SessionStore(browser.cookies["sessionid"].value)
    session[SIGNED_IN_AT] = int(time.time()) - settings.STAFF_SESSION_MAX_AGE_SECONDS - 60
    session.save()

    async def run():
        await _open(board)
        # When the board pings
        await board.send_json_to({"type": "ping", "seq": -1})
        answer = await board.receive_output(timeout=5)
        await board.disconnect()
        return answer

    # Then it is closed as a page of that session would be signed out
    assert async_to_sync(run)() == CLOSED_FORBIDDEN


def test_a_refused_order_socket_is_logged_without_its_token(small_menu, actors, channel_layer, caplog):
    # Given another customer's order
    order = _order(small_menu, owner=actors.other_customer)
    tracker = _tracker(order, _signed_in(actors.customer))

    async def run():
        connected, code = await tracker.connect()
        await tracker.disconnect()
        return connected, code

    # When a customer tries to follow it
    connected, code = async_to_sync(run)()

    # Then the socket is refused, and the log names the route, not the token
    assert (connected, code) == (False, 4403)
    refused = [record for record in caplog.records if record.getMessage() == "socket refused"]
    assert refused and refused[0].route == "/ws/orders/<token>/"
    assert order.tracking_token not in caplog.text
    assert all(order.tracking_token not in str(vars(record)) for record in caplog.records)
