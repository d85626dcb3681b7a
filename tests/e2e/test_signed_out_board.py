"""A chef who signs out in another tab: the open board stops showing tickets and says so, and does
not keep reconnecting."""

from __future__ import annotations

import time

import pytest
from django.test import Client
from playwright.sync_api import expect

from tests.harness import daphne as daphne_harness

pytestmark = [pytest.mark.browser, pytest.mark.postgres, pytest.mark.redis]

daphne_instance = daphne_harness.daphne_instance


def test_signing_out_in_another_tab_turns_the_open_board_to_signed_out_without_a_reconnect_loop(
    actors, open_page, screenshot, daphne_instance
) -> None:
    # Given a chef with the board open on a tablet
    web = daphne_instance()
    board, broken = open_page()
    session = Client()
    session.force_login(actors.chef, backend="django.contrib.auth.backends.ModelBackend")
    board.context.add_cookies(
        [{"name": "sessionid", "value": session.cookies["sessionid"].value, "url": web.url}]
    )
    sockets: list[str] = []
    board.on("websocket", lambda socket: sockets.append(socket.url))
    board.goto(web.url + "/kitchen/")
    expect(board.locator("[data-connection]")).to_have_text("Live")

    # When they press "Sign out" in another tab of the same browser
    other_tab = board.context.new_page()
    other_tab.goto(web.url + "/")
    other_tab.get_by_role("button", name="Sign out").click()
    other_tab.wait_for_url(lambda url: "/kitchen" not in url)

    # Then the board says it is signed out, without being touched
    expect(board.locator("[data-connection]")).to_have_text("Signed out: sign in again to see tickets")
    screenshot(board, "kitchen-board-signed-out.png", full_page=False)
    # And it asked at most once more, then stopped
    time.sleep(4)
    assert len(sockets) <= 2, sockets
    assert not broken
