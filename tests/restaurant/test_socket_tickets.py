"""Apps' live sockets: a one-time, short-lived ticket from the API, never a long-lived token in a URL."""

from __future__ import annotations

import pytest
from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async

from accounts.services import app_session_start
from tests.api import api_error, app_for, post_json
from tests.conftest import client_for
from tests.sockets import app_socket_for, connects

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("eager_tasks")]

BOARD = "/ws/kitchen/"
TICKET = "/api/v1/sockets/ticket/"


def _ticket(app) -> str:
    response = post_json(app, TICKET, None)
    assert response.status_code == 201, response.content
    return response.json()["ticket"]


def test_a_chefs_app_opens_the_board_with_a_ticket_and_no_cookie_or_origin(actors):
    connected, first = connects(app_socket_for(BOARD, _ticket(app_for(actors.chef))))

    assert connected
    assert first["type"] == "board.snapshot"


def test_a_customers_app_follows_their_own_order_and_not_someone_elses(actors, small_menu):
    from tests.accounts.test_permission_matrix import _order

    mine, theirs = _order(small_menu, actors.customer), _order(small_menu, actors.other_customer)
    app = app_for(actors.customer)

    connected, first = connects(app_socket_for(f"/ws/orders/{mine.tracking_token}/", _ticket(app)))
    assert connected and first["type"] == "order.snapshot"
    assert connects(app_socket_for(f"/ws/orders/{theirs.tracking_token}/", _ticket(app))) == (False, 4403)


def test_a_ticket_opens_one_socket_only(actors):
    ticket = _ticket(app_for(actors.chef))

    assert connects(app_socket_for(BOARD, ticket))[0]
    assert connects(app_socket_for(BOARD, ticket)) == (False, 4403)


def test_a_stale_or_forged_ticket_is_refused(actors, settings):
    app = app_for(actors.chef)
    ticket = _ticket(app)

    assert connects(app_socket_for(BOARD, ticket[:-3] + "abc")) == (False, 4403)
    assert connects(app_socket_for(BOARD, "garbage")) == (False, 4403)
    settings.SOCKET_TICKET_SECONDS = -1  # every ticket is past its time
    assert connects(app_socket_for(BOARD, ticket)) == (False, 4403)


def test_a_customers_ticket_does_not_open_the_board(actors):
    assert connects(app_socket_for(BOARD, _ticket(app_for(actors.customer)))) == (False, 4403)


def test_the_ticket_alone_says_who_it_is_whatever_cookie_comes_along(actors):
    # A page elsewhere opening a socket with its own (customer's) ticket, in a chef's browser.
    chef_browser = client_for(actors.chef)
    cookie = (b"cookie", f"sessionid={chef_browser.cookies['sessionid'].value}".encode())
    foreign = (b"origin", b"https://evil.example")

    socket = app_socket_for(BOARD, _ticket(app_for(actors.customer)), headers=[cookie, foreign])

    assert connects(socket) == (False, 4403)


def test_signing_the_app_out_closes_its_socket_at_once(actors):
    tokens = app_session_start(user=actors.chef)
    bearer = {"HTTP_AUTHORIZATION": f"Bearer {tokens.access}"}
    ticket = post_json(client_for(None), TICKET, None, **bearer).json()["ticket"]
    board = app_socket_for(BOARD, ticket)

    async def run():
        connected, _ = await board.connect()
        assert connected
        await board.receive_json_from()
        signed_out = await database_sync_to_async(post_json)(
            client_for(None), "/api/v1/auth/sign-out/", None, **bearer
        )
        assert signed_out.status_code == 204
        answer = await board.receive_output(timeout=5)
        await board.disconnect()
        return answer

    assert async_to_sync(run)() == {"type": "websocket.close", "code": 4403}


def test_a_ticket_is_for_apps_browsers_use_their_session(actors):
    assert api_error(post_json(client_for(actors.chef), TICKET, None), 400)["code"] == "not_an_app_session"
