"""The board's 86 list over its socket: what the menu cannot sell, live, in the board's sequence."""

from __future__ import annotations

import pytest
from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async

from kitchen.tasks import board_sold_out_check
from menu.models import MenuItem
from menu.pantry.services import stock_deliver
from orders.models import OutboxEvent
from orders.pricing import CartLine
from tests.conftest import STOCKROOM, client_for
from tests.kitchen.conftest import place
from tests.menu.test_admin import _empty_inline, _inline_prefixes, _run_item_action
from tests.sockets import socket_for

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("eager_tasks")]

BOARD = "/ws/kitchen/"
LOBSTER = {"name": "Lobster", "why": "86"}  # the small menu's own 86


def _burgers(menu, quantity: int) -> list[CartLine]:  # type: ignore[no-untyped-def]
    return [CartLine(menu.burger.pk, quantity, (menu.medium.pk,))]


def _reprice_in_admin(manager, item, price_minor: int) -> None:  # type: ignore[no-untyped-def]
    url = f"/admin/menu/menuitem/{item.pk}/change/"
    form = {
        "category": item.category_id,
        "name": item.name,
        "slug": item.slug,
        "description": item.description,
        "price_minor": price_minor,
        "is_available": "on",
        "is_listed": "on",
        "sort_order": item.sort_order,
    }
    for prefix in _inline_prefixes(manager.get(url).content.decode()):
        form.update(_empty_inline(prefix))
    answer = manager.post(url, form)
    assert answer.status_code == 302, answer.content


def _deliver(ingredient, quantity: int) -> None:  # type: ignore[no-untyped-def]
    stock_deliver(ingredient_id=ingredient.pk, quantity=quantity, unit=ingredient.unit, actor=STOCKROOM)


def _sold_out_events() -> int:
    return OutboxEvent.objects.filter(topic="kitchen.sold_out").count()


def test_the_86_list_follows_the_pantry_and_the_manager_live_and_a_resync_carries_it(
    kitchen, small_menu, pantry, actors
):
    manager = client_for(actors.manager)
    communicator = socket_for(BOARD, user=actors.chef)

    async def run():
        connected, _ = await communicator.connect()
        assert connected
        snapshot = await communicator.receive_json_from()
        received = []
        # The order that takes the last patties and buns
        await database_sync_to_async(place)(small_menu, _burgers(small_menu, 10))
        received.append(await communicator.receive_json_from(timeout=5))
        # Patties arrive, buns do not: still no burger, so the list is the same and nothing is sent;
        # then the buns, and the burger is back
        await database_sync_to_async(_deliver)(pantry.patty, 10)
        await database_sync_to_async(_deliver)(pantry.bun, 10)
        received.append(await communicator.receive_json_from(timeout=5))
        # A manager 86es the fries in admin, and puts them back on
        await database_sync_to_async(_run_item_action)(manager, "mark_sold_out", small_menu.fries)
        received.append(await communicator.receive_json_from(timeout=5))
        await database_sync_to_async(_run_item_action)(manager, "mark_back_on", small_menu.fries)
        received.append(await communicator.receive_json_from(timeout=5))
        # The last two fries' worth of potatoes gone: a resync says so too
        await database_sync_to_async(place)(small_menu, [CartLine(small_menu.fries.pk, 10)])
        received.append(await communicator.receive_json_from(timeout=5))
        await communicator.send_json_to({"type": "resync"})
        resynced = await communicator.receive_json_from(timeout=5)
        await communicator.disconnect()
        return snapshot, received, resynced

    snapshot, received, resynced = async_to_sync(run)()

    assert snapshot["sold_out"] == [LOBSTER]
    assert [m["type"] for m in received] == ["board.sold_out"] * 5
    assert [m["seq"] for m in received] == list(range(snapshot["seq"] + 1, snapshot["seq"] + 6))
    assert [m["sold_out"] for m in received] == [
        [{"name": "Burger", "why": "out of stock"}, LOBSTER],
        [LOBSTER],
        [{"name": "Fries", "why": "86"}, LOBSTER],
        [LOBSTER],
        [{"name": "Fries", "why": "out of stock"}, LOBSTER],
    ]
    assert resynced["type"] == "board.snapshot"
    assert resynced["seq"] == received[-1]["seq"]
    assert resynced["sold_out"] == received[-1]["sold_out"]


def test_a_managers_86_outlasts_a_restock_on_the_board(kitchen, small_menu, pantry, actors):
    manager = client_for(actors.manager)
    communicator = socket_for(BOARD, user=actors.chef)

    async def run():
        await communicator.connect()
        await communicator.receive_json_from()
        await database_sync_to_async(place)(small_menu, _burgers(small_menu, 10))
        out = await communicator.receive_json_from(timeout=5)
        await database_sync_to_async(_run_item_action)(manager, "mark_sold_out", small_menu.burger)
        taken_off = await communicator.receive_json_from(timeout=5)
        await database_sync_to_async(_deliver)(pantry.patty, 10)
        await database_sync_to_async(_deliver)(pantry.bun, 10)
        # Restocked, but the manager's 86 stands: the next message is the manager putting it back on
        await database_sync_to_async(_run_item_action)(manager, "mark_back_on", small_menu.burger)
        back_on = await communicator.receive_json_from(timeout=5)
        await communicator.disconnect()
        return out, taken_off, back_on

    out, taken_off, back_on = async_to_sync(run)()

    assert out["sold_out"][0] == {"name": "Burger", "why": "out of stock"}
    assert taken_off["sold_out"][0] == {"name": "Burger", "why": "86"}
    assert back_on["seq"] == taken_off["seq"] + 1
    assert back_on["sold_out"] == [LOBSTER]


def test_orders_and_menu_edits_that_leave_the_list_as_it_is_send_the_board_nothing(
    kitchen, small_menu, pantry, actors
):
    manager = client_for(actors.manager)
    communicator = socket_for(BOARD, user=actors.chef)
    events_before = _sold_out_events()

    async def run():
        await communicator.connect()
        snapshot = await communicator.receive_json_from()
        # A rush of burgers and fries that runs nothing out, and a new price for the fries
        for _ in range(3):
            await database_sync_to_async(place)(
                small_menu, [*_burgers(small_menu, 2), CartLine(small_menu.fries.pk, 2)]
            )
        await database_sync_to_async(_reprice_in_admin)(manager, small_menu.fries, 450)
        events_meanwhile = await database_sync_to_async(_sold_out_events)()
        # Then the last burgers: this is the next message the board gets
        await database_sync_to_async(place)(small_menu, _burgers(small_menu, 4))
        next_message = await communicator.receive_json_from(timeout=5)
        await communicator.disconnect()
        return snapshot, events_meanwhile, next_message

    snapshot, events_meanwhile, next_message = async_to_sync(run)()

    small_menu.fries.refresh_from_db()
    assert small_menu.fries.price_minor == 450
    assert events_meanwhile == events_before
    assert next_message["type"] == "board.sold_out"
    assert next_message["seq"] == snapshot["seq"] + 1
    assert next_message["sold_out"][0] == {"name": "Burger", "why": "out of stock"}


def test_a_change_the_boards_were_never_told_about_reaches_them_by_the_beats_check(
    kitchen, small_menu, pantry, actors
):
    communicator = socket_for(BOARD, user=actors.chef)

    async def run():
        await communicator.connect()
        snapshot = await communicator.receive_json_from()
        # Committed, but the process died before telling the kitchen: an UPDATE that tells nobody
        await database_sync_to_async(MenuItem.objects.filter(pk=small_menu.fries.pk).update)(
            is_available=False
        )
        sent = await database_sync_to_async(lambda: board_sold_out_check.delay().get())()
        healed = await communicator.receive_json_from(timeout=5)
        sent_again = await database_sync_to_async(lambda: board_sold_out_check.delay().get())()
        await communicator.disconnect()
        return snapshot, sent, healed, sent_again

    snapshot, sent, healed, sent_again = async_to_sync(run)()

    assert sent is True
    assert healed["type"] == "board.sold_out"
    assert healed["seq"] == snapshot["seq"] + 1
    assert healed["sold_out"] == [{"name": "Fries", "why": "86"}, LOBSTER]
    assert sent_again is False
