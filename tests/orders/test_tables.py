"""Tables: managers keep them in admin, each has a printed QR code whose signed link
opens the menu with dine in at that table, and every dine-in order names a table in service."""

from __future__ import annotations

import importlib
import re

import pytest
import qrcode
from django.apps import apps
from django.conf import settings
from django.core.management import call_command
from django.db.migrations.loader import MigrationLoader
from django.urls import reverse
from django.utils import timezone

from orders.floor.links import SESSION_KEY, table_link_token
from orders.floor.models import LABEL_TAKEN, Table
from orders.floor.qr import qr_svg
from orders.floor.services import table_link_replace, table_retire
from orders.forms import DINE_IN_NEEDS_TABLE_CODE
from orders.models import Order
from tests.conftest import client_for
from tests.factories import TableFactory
from tests.orders.flows import add_to_cart, checkout, scan_table

pytestmark = pytest.mark.django_db

SVG = re.compile(r"<svg [^>]*aria-label=\"QR code for Table ([^\"]+)\"")


def _table_form(**overrides: object) -> dict[str, object]:
    return {"label": "T1", "area": "Terrace", "seats": "2", "sort_order": "1", **overrides}


def _retire(table: Table) -> None:
    table_retire(table_ids=[table.pk], now=timezone.now())


def _admin_action(client, action: str, *tables: Table):  # type: ignore[no-untyped-def]
    return client.post(
        reverse("admin:orders_table_changelist"),
        {"action": action, "_selected_action": [table.pk for table in tables]},
    )


# ---------------------------------------------------------------- managers keep the tables


def test_a_manager_adds_renames_and_retires_a_table_and_its_orders_keep_their_history(actors, small_menu):
    manager, waiter = client_for(actors.manager), client_for(actors.waiter)

    added = manager.post(reverse("admin:orders_table_add"), _table_form())
    assert added.status_code == 302, added.content.decode()
    table = Table.objects.get()
    assert (table.label, table.area, table.seats, table.in_service) == ("T1", "Terrace", 2, True)

    add_to_cart(waiter, small_menu.fries)
    assert checkout(waiter, order_type="dine_in", table_number="t1").status_code == 302
    order = Order.objects.get()
    assert (order.table, order.table_number) == (table, "T1")

    renamed = manager.post(reverse("admin:orders_table_change", args=[table.pk]), _table_form(label="T9"))
    assert renamed.status_code == 302, renamed.content.decode()
    order.refresh_from_db()
    assert (order.table, order.table_number, order.table.label) == (table, "T1", "T9")

    assert _admin_action(manager, "retire_tables", table).status_code == 302
    table.refresh_from_db()
    assert not table.in_service
    assert manager.get(reverse("admin:orders_table_delete", args=[table.pk])).status_code == 403

    add_to_cart(waiter, small_menu.fries)
    refused = checkout(waiter, order_type="dine_in", table_number="T9")
    assert refused.status_code == 400
    assert "There is no table “T9” in service." in refused.content.decode()
    assert Order.objects.count() == 1


def test_a_label_in_service_is_unique_whatever_its_case_and_free_again_once_retired(actors):
    manager = client_for(actors.manager)
    first = TableFactory(label="T1")

    taken = manager.post(reverse("admin:orders_table_add"), _table_form(label="t1"))
    assert taken.status_code == 200
    assert LABEL_TAKEN in taken.content.decode()

    _retire(first)
    again = manager.post(reverse("admin:orders_table_add"), _table_form(label="t1"))
    assert again.status_code == 302
    assert Table.objects.in_service().get().label == "t1"

    back = _admin_action(manager, "reinstate_tables", first)
    assert back.status_code == 302
    first.refresh_from_db()
    assert not first.in_service
    assert LABEL_TAKEN in manager.get(reverse("admin:orders_table_changelist")).content.decode()


@pytest.mark.parametrize("label", ["<b>1</b>", "-1", "1\u202e", "A_", "Table twelve"])
def test_a_label_outside_the_rule_is_refused_and_nothing_is_saved(actors, label):
    refused = client_for(actors.manager).post(reverse("admin:orders_table_add"), _table_form(label=label))

    assert refused.status_code == 200
    assert "errornote" in refused.content.decode()
    assert not Table.objects.exists()


def test_a_table_no_order_names_can_be_deleted(actors):
    typo = TableFactory(label="99")

    deleted = client_for(actors.manager).post(
        reverse("admin:orders_table_delete", args=[typo.pk]), {"post": "yes"}
    )

    assert deleted.status_code == 302
    assert not Table.objects.exists()


# ---------------------------------------------------------------- the QR sheet


def test_the_qr_sheet_has_one_code_per_table_in_service_each_opening_that_table(actors, small_menu):
    tables = [
        TableFactory(label="1", area="Ground floor"),
        TableFactory(label="2", area="Ground floor"),
        TableFactory(label="9", area="Upstairs"),
    ]
    _retire(TableFactory(label="3", area="Ground floor"))
    manager = client_for(actors.manager)

    sheet = manager.get(reverse("admin:orders_table_qr_sheet"))

    page = sheet.content.decode()
    assert sheet.status_code == 200
    assert SVG.findall(page) == ["1", "2", "9"]
    assert page.count("<svg ") == 3
    # Every area starts its own printed page.
    assert page.index("Ground floor</h2>") < page.index("Upstairs</h2>")
    # No inline script or style: the site's CSP would block them.
    assert "<script" not in page and "style=" not in page and "<style" not in page
    assert "css/qr-sheet" in page
    for table in tables:
        url = f"{settings.BRIGADE_BASE_URL}/t/{table_link_token(table)}/"
        assert qr_svg(url, title=f"QR code for {table}") in page

    guest = client_for(None)
    path = f"/t/{table_link_token(tables[2])}/"
    assert guest.get(path).status_code == 302
    assert guest.session[SESSION_KEY]["label"] == "9"


def test_the_svg_draws_exactly_the_modules_of_the_links_qr_code():
    url = "https://brigade.example/t/5.1:abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG/"
    expected = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, border=4)
    expected.add_data(url)
    expected.make(fit=True)
    modules = expected.get_matrix()

    svg = qr_svg(url, title="QR code for Table 5")

    size = len(modules)
    assert f'viewBox="0 0 {size} {size}"' in svg
    drawn = set()
    for x, y, run in re.findall(r"M(\d+) (\d+)h(\d+)", svg):
        drawn |= {(int(x) + step, int(y)) for step in range(int(run))}
    assert drawn == {(x, y) for y, row in enumerate(modules) for x, dark in enumerate(row) if dark}


def test_the_qr_sheet_of_one_area_and_of_an_area_with_no_tables(actors):
    TableFactory(label="1", area="Ground floor")
    TableFactory(label="9", area="Upstairs")
    manager = client_for(actors.manager)

    upstairs = manager.get(reverse("admin:orders_table_qr_sheet"), {"area": "Upstairs"})
    unknown = manager.get(reverse("admin:orders_table_qr_sheet"), {"area": "Cellar"})

    assert SVG.findall(upstairs.content.decode()) == ["9"]
    assert unknown.status_code == 404
    listing = manager.get(reverse("admin:orders_table_changelist")).content.decode()
    assert "?area=Upstairs" in listing and "?area=Ground%20floor" in listing


def test_an_area_name_is_shown_escaped_on_the_sheet(actors):
    TableFactory(label="1", area="<script>alert(1)</script>")

    page = client_for(actors.manager).get(reverse("admin:orders_table_qr_sheet")).content.decode()

    assert "<script>alert(1)" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


# ---------------------------------------------------------------- the signed link


def test_a_tables_link_opens_the_menu_and_its_order_is_for_that_table_and_paid_online(client, small_menu):
    table = TableFactory(label="5", area="Ground floor")

    opened = scan_table(client, table)
    assert opened.status_code == 302 and opened["Location"] == reverse("menu:index")
    menu = client.get(opened["Location"]).content.decode()
    assert "Welcome to Table 5" in menu
    assert 'data-table="5"' in menu

    add_to_cart(client, small_menu.fries, 2)
    page = client.get(reverse("orders:checkout")).content.decode()
    assert re.search(r'<input type="radio" name="order_type" value="dine_in"[^>]* checked', page)
    assert "Dine in at <strong>Table 5</strong>" in page
    assert '<input type="hidden" name="table_number" value="5"' in page

    placed = checkout(client, order_type="dine_in", table_number="5")
    assert placed.status_code == 302
    assert placed["Location"].startswith("/sandbox/pay/")
    order = Order.objects.get()
    assert (order.table, order.table_number, order.customer, order.placed_by) == (table, "5", None, None)
    assert order.where() == "Table 5"


def test_a_guest_who_came_by_a_tables_code_may_still_choose_pickup(client, small_menu):
    scan_table(client, TableFactory(label="5"))
    add_to_cart(client, small_menu.fries)

    placed = checkout(client, order_type="pickup", table_number="5")

    assert placed.status_code == 302
    assert (Order.objects.get().table, Order.objects.get().table_number) == (None, "")


def test_a_guest_cannot_move_their_order_to_another_table_by_editing_the_form(client, small_menu):
    scan_table(client, TableFactory(label="5"))
    TableFactory(label="6")
    add_to_cart(client, small_menu.fries)

    refused = checkout(client, order_type="dine_in", table_number="6")

    assert refused.status_code == 400
    assert "This order is for Table 5, the table whose code you scanned." in refused.content.decode()
    assert not Order.objects.exists()


@pytest.mark.parametrize(
    "token",
    [
        "not-a-signed-value",
        "<img src=x onerror=alert(1)>",
        "{other}.1:{signature}",
        "{id}.2:{signature}",
        "{id}.1:{signature}x",
        "{id}.1",
    ],
)
def test_an_edited_or_made_up_link_is_not_found(client, token):
    table = TableFactory(label="5")
    TableFactory(label="6")
    signature = table_link_token(table).rpartition(":")[2]
    other = Table.objects.get(label="6").pk
    path = "/t/" + token.format(id=table.pk, other=other, signature=signature) + "/"

    refused = client.get(path)

    assert refused.status_code == 404
    assert "We do not recognise this table code" in refused.content.decode()
    assert SESSION_KEY not in client.session


def test_a_retired_tables_link_and_a_replaced_code_are_gone(client):
    retired, replaced = TableFactory(label="5"), TableFactory(label="6")
    retired_token, old_token = table_link_token(retired), table_link_token(replaced)
    _retire(retired)
    table_link_replace(table_ids=[replaced.pk], now=timezone.now())
    replaced.refresh_from_db()

    for token in (retired_token, old_token):
        gone = client.get(f"/t/{token}/")
        assert gone.status_code == 410
        assert "This table's code is not in use any more" in gone.content.decode()
    assert SESSION_KEY not in client.session
    assert scan_table(client, replaced).status_code == 302


def test_a_table_retired_after_its_code_was_scanned_takes_no_dine_in_order(client, small_menu):
    table = TableFactory(label="5")
    scan_table(client, table)
    add_to_cart(client, small_menu.fries)
    _retire(table)

    page = client.get(reverse("orders:checkout")).content.decode()
    refused = checkout(client, order_type="dine_in", table_number="5")

    assert re.search(r'value="pickup"[^>]* checked', page)
    assert refused.status_code == 400
    assert DINE_IN_NEEDS_TABLE_CODE.split(":")[0] in refused.content.decode()
    assert not Order.objects.exists()


# ---------------------------------------------------------------- waiters choose any table in service


def test_a_waiter_chooses_the_table_from_those_in_service(actors, small_menu):
    TableFactory(label="5", area="Ground floor")
    _retire(TableFactory(label="6"))
    waiter = client_for(actors.waiter)
    add_to_cart(waiter, small_menu.fries)

    page = waiter.get(reverse("orders:checkout")).content.decode()
    unknown = checkout(waiter, order_type="dine_in", table_number="<b>7</b>")
    retired = checkout(waiter, order_type="dine_in", table_number="6")

    assert '<option value="5">5 · Ground floor</option>' in page
    assert '<option value="6">' not in page
    assert unknown.status_code == 400
    assert "There is no table “&lt;b&gt;7&lt;/b&gt;” in service." in unknown.content.decode()
    assert retired.status_code == 400
    assert not Order.objects.exists()


# ---------------------------------------------------------------- the upgrade and the demo


def test_the_migration_makes_tables_of_the_labels_waiters_used_and_links_their_orders(actors, small_menu):
    def old_order(label: str, placed_by=None) -> Order:  # type: ignore[no-untyped-def]
        return Order.objects.create(
            order_type="dine_in",
            table_number=label,
            placed_by=placed_by,
            contact_name="T",
            contact_email="t@example.test",
            currency="EUR",
            subtotal_minor=400,
            total_minor=400,
        )

    by_waiter = [
        old_order("4", actors.waiter),
        old_order("b2", actors.waiter),
        old_order("B2", actors.waiter),
    ]
    also_b2 = old_order("B2", actors.waiter)
    guest_at_4, guest_typo = old_order("4"), old_order("44")
    hostile = old_order("<i>", actors.waiter)
    # Found by its name's end, not its number: a number may be changed when branches meet.
    [name] = [
        name
        for app, name in MigrationLoader(None).disk_migrations
        if app == "orders" and name.endswith("_tables")
    ]
    migration = importlib.import_module(f"orders.migrations.{name}")

    migration.tables_from_history(apps, None)

    assert sorted(Table.objects.values_list("label", flat=True)) == ["4", "B2"]
    for order in (*by_waiter, also_b2, guest_at_4, guest_typo, hostile):
        order.refresh_from_db()
    assert {order.table.label for order in (*by_waiter, also_b2, guest_at_4)} == {"4", "B2"}
    assert (guest_typo.table, hostile.table) == (None, None)
    assert [order.table_number for order in by_waiter] == ["4", "b2", "B2"]


def test_the_demo_has_twelve_tables_on_two_floors_and_seeding_again_adds_none():
    call_command("seed_demo_tables", verbosity=0)
    call_command("seed_demo_tables", verbosity=0)

    tables = list(Table.objects.in_service().in_floor_order())
    assert [table.label for table in tables] == [str(n) for n in range(1, 9)] + [str(n) for n in range(9, 13)]
    assert {table.area for table in tables} == {"Ground floor", "Upstairs"}
