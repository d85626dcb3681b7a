"""The manager's path through Django admin: the menu (items, modifiers, 86ing) and orders."""

from __future__ import annotations

import re

import pytest
from django.core.management import call_command
from django.test import Client

from accounts.models import User
from accounts.roles import Actor
from menu.models import Category, MenuItem, ModifierGroup
from menu.money import format_money
from orders.models import Order, OrderEvent, OrderStatus
from orders.pricing import CartLine
from orders.services import PAID_IN_PERSON, OrderDetails, order_place
from tests.conftest import client_for

MANAGER_EMAIL = "manager@brigade.example"
ITEM_ADD_URL = "/admin/menu/menuitem/add/"
ITEM_CHANGELIST_URL = "/admin/menu/menuitem/"
ORDER_CHANGELIST_URL = "/admin/orders/order/"


@pytest.fixture
def manager(db) -> User:  # type: ignore[no-untyped-def]
    # The manager group gets its admin permissions from seed_demo, which also makes the menu.
    call_command("seed_demo", verbosity=0)
    return User.objects.get(email=MANAGER_EMAIL)


@pytest.fixture
def manager_client(manager: User) -> Client:
    return client_for(manager)


def _menu_entry(html: str, slug: str) -> str:
    """The menu page's <li data-item="slug"> entry, up to the next item or the end of its list."""
    start = html.index(f'data-item="{slug}"')
    ends = [
        i for i in (html.find('data-item="', start + 1), html.find("</ul>\n</section>", start)) if i != -1
    ]
    return html[start : min(ends)]


def _run_item_action(client: Client, action: str, *items: MenuItem) -> str:
    response = client.post(
        ITEM_CHANGELIST_URL, {"action": action, "_selected_action": [item.pk for item in items]}, follow=True
    )
    assert response.status_code == 200
    assert response.redirect_chain == [(ITEM_CHANGELIST_URL, 302)]
    return response.content.decode()


def _inline_prefixes(add_page_html: str) -> list[str]:
    return re.findall(r'name="([\w-]+)-TOTAL_FORMS"', add_page_html)


def _empty_inline(prefix: str) -> dict[str, str]:
    return {
        f"{prefix}-TOTAL_FORMS": "0",
        f"{prefix}-INITIAL_FORMS": "0",
        f"{prefix}-MIN_NUM_FORMS": "0",
        f"{prefix}-MAX_NUM_FORMS": "1000",
    }


# ---------------------------------------------------------------- menu


def test_manager_adds_an_item_with_modifiers_and_86es_another_and_the_menu_shows_both(
    manager_client: Client,
) -> None:
    add_page = manager_client.get(ITEM_ADD_URL)
    assert add_page.status_code == 200
    assert _inline_prefixes(add_page.content.decode()) == ["item_groups", "recipe_lines"]
    prefix = "item_groups"

    mains = Category.objects.get(slug="mains")
    extras = ModifierGroup.objects.get(name="Extras")
    side = ModifierGroup.objects.get(name="Side")
    response = manager_client.post(
        ITEM_ADD_URL,
        {
            "category": mains.pk,
            "name": "Smoky Chili Bowl",
            "slug": "smoky-chili-bowl",
            "description": "Slow-cooked beef and bean chili with sour cream.",
            "price_minor": "1150",
            "is_available": "on",
            "is_listed": "on",
            "sort_order": "5",
            f"{prefix}-TOTAL_FORMS": "2",
            f"{prefix}-INITIAL_FORMS": "0",
            f"{prefix}-MIN_NUM_FORMS": "0",
            f"{prefix}-MAX_NUM_FORMS": "1000",
            f"{prefix}-0-group": extras.pk,
            f"{prefix}-0-sort_order": "20",
            f"{prefix}-1-group": side.pk,
            f"{prefix}-1-sort_order": "10",
            **_empty_inline("recipe_lines"),
            "_save": "Save",
        },
    )
    assert response.status_code == 302, response.context["adminform"].form.errors if response.context else ""
    assert response["Location"] == ITEM_CHANGELIST_URL
    chili = MenuItem.objects.get(slug="smoky-chili-bowl")
    assert (chili.name, chili.price_minor, chili.category, chili.is_available) == (
        "Smoky Chili Bowl",
        1150,
        mains,
        True,
    )
    assert [link.group for link in chili.item_groups.all()] == [side, extras]  # by sort_order

    caesar = MenuItem.objects.get(slug="caesar-salad")
    assert "1 item(s) marked sold out." in _run_item_action(manager_client, "mark_sold_out", caesar)
    caesar.refresh_from_db()
    assert caesar.is_available is False

    guest = Client()
    menu = guest.get("/").content.decode()
    assert "Smoky Chili Bowl" in _menu_entry(menu, "smoky-chili-bowl")
    assert format_money(1150) in _menu_entry(menu, "smoky-chili-bowl")
    assert "Sold out" not in _menu_entry(menu, "smoky-chili-bowl")
    assert "Sold out" in _menu_entry(menu, "caesar-salad")
    assert "Sold out" not in _menu_entry(menu, "greek-salad")

    chili_page = guest.get(chili.get_absolute_url()).content.decode()
    assert "Add to cart" in chili_page
    assert chili_page.index("Side") < chili_page.index("Extras")

    caesar_page = guest.get(caesar.get_absolute_url()).content.decode()
    assert "Sold out" in caesar_page
    assert "Add to cart" not in caesar_page
    assert 'action="/cart/add/"' not in caesar_page

    refused = guest.post("/cart/add/", {"item": caesar.pk, "quantity": "1"})
    assert refused.status_code == 400
    assert "Caesar Salad is sold out" in refused.content.decode()
    assert guest.get("/cart/").context["rows"] == []


def test_back_on_puts_an_86ed_item_back_on_the_menu(
    manager_client: Client, django_capture_on_commit_callbacks
) -> None:
    caesar = MenuItem.objects.get(slug="caesar-salad")
    # The cached menu's version moves when the change commits.
    with django_capture_on_commit_callbacks(execute=True):
        _run_item_action(manager_client, "mark_sold_out", caesar)
    assert "Sold out" in _menu_entry(Client().get("/").content.decode(), "caesar-salad")

    with django_capture_on_commit_callbacks(execute=True):
        back_on = _run_item_action(manager_client, "mark_back_on", caesar)
    assert "1 item(s) back on the menu." in back_on

    caesar.refresh_from_db()
    assert caesar.is_available is True
    guest = Client()
    assert "Sold out" not in _menu_entry(guest.get("/").content.decode(), "caesar-salad")
    assert "Add to cart" in guest.get(caesar.get_absolute_url()).content.decode()
    added = guest.post("/cart/add/", {"item": caesar.pk, "quantity": "1"})
    assert added.status_code == 302


def test_customer_opening_admin_is_sent_to_the_admin_login(actors) -> None:  # type: ignore[no-untyped-def]
    response = client_for(actors.customer).get("/admin/")
    assert response.status_code == 302
    assert response["Location"] == "/admin/login/?next=/admin/"

    # And straight to a model page, too.
    response = client_for(actors.customer).get(ITEM_CHANGELIST_URL)
    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")


# ---------------------------------------------------------------- orders


def _place(email: str, name: str = "Grace Guest") -> Order:
    pizza = MenuItem.objects.get(slug="margherita-pizza")
    order, created = order_place(
        lines=[CartLine(item_id=pizza.pk, quantity=2)],
        details=OrderDetails(order_type="pickup", contact_name=name, contact_email=email),
        actor=Actor.guest(),
    )
    assert created
    return order


def _results(client: Client, query: str) -> list[Order]:
    response = client.get(ORDER_CHANGELIST_URL + query)
    assert response.status_code == 200
    return list(response.context["cl"].result_list)


def _run_order_action(client: Client, action: str, *orders: Order, **extra: str):  # type: ignore[no-untyped-def]
    return client.post(
        ORDER_CHANGELIST_URL,
        {"action": action, "_selected_action": [order.pk for order in orders], **extra},
    )


def test_order_changelist_filters_by_status_and_finds_by_number_and_email(manager_client: Client) -> None:
    grace = _place("grace@example.test")
    otto = _place("otto@example.test", name="Otto Other")
    paid = _run_order_action(manager_client, "record_payment_at_till", otto)
    assert paid.status_code == 302
    otto.refresh_from_db()
    assert otto.status == OrderStatus.PAID

    assert _results(manager_client, "") == [otto, grace]
    assert _results(manager_client, "?status__exact=awaiting_payment") == [grace]
    assert _results(manager_client, "?status__exact=paid") == [otto]
    assert _results(manager_client, f"?q=%23{grace.pk}") == [grace]
    assert _results(manager_client, f"?q={grace.pk}") == [grace]
    assert _results(manager_client, f"?q=%23{otto.pk}") == [otto]
    assert _results(manager_client, "?q=grace@example.test") == [grace]
    assert _results(manager_client, "?q=otto%40example.test") == [otto]
    assert _results(manager_client, "?q=nobody@example.test") == []


def test_order_change_page_shows_the_audit_trail_and_no_editable_money(manager_client: Client) -> None:
    order = _place("grace@example.test")

    response = manager_client.get(f"{ORDER_CHANGELIST_URL}{order.pk}/change/")

    assert response.status_code == 200
    html = response.content.decode()
    assert "Audit trail" in html
    assert "guest" in html and "placed" in html  # the placing event: actor label and reason
    assert format_money(order.total_minor) in html
    inputs = set(re.findall(r'<(?:input|select|textarea)[^>]*\bname="([^"]+)"', html))
    money = {
        name for name in inputs if re.search(r"(^|-)(total_minor|subtotal_minor|unit_price_minor)$", name)
    }
    assert money == set(), money
    assert not {"status", "version", "contact_email"} & inputs
    inlines = response.context["inline_admin_formsets"]
    assert [inline.opts.verbose_name_plural for inline in inlines] == ["order items", "audit trail"]
    assert not any(inline.has_add_permission or inline.has_change_permission for inline in inlines)
    assert response.context["has_delete_permission"] is False


def test_cancel_action_asks_for_a_reason_then_cancels_through_the_state_machine(
    manager_client: Client, manager: User
) -> None:
    order = _place("grace@example.test")

    intermediate = _run_order_action(manager_client, "cancel_orders", order)

    assert intermediate.status_code == 200
    html = intermediate.content.decode()
    assert re.search(r'<textarea[^>]*name="reason"', html)
    assert 'name="apply"' in html
    assert f'name="_selected_action" value="{order.pk}"' in html
    order.refresh_from_db()
    assert order.status == OrderStatus.AWAITING_PAYMENT

    without_reason = _run_order_action(manager_client, "cancel_orders", order, apply="1", reason="  ")
    assert without_reason.status_code == 200
    assert "This field is required." in without_reason.content.decode()
    order.refresh_from_db()
    assert order.status == OrderStatus.AWAITING_PAYMENT

    done = _run_order_action(manager_client, "cancel_orders", order, apply="1", reason="Customer called")

    assert done.status_code == 302
    order.refresh_from_db()
    assert order.status == OrderStatus.CANCELLED
    assert order.version == 2
    event = order.events.order_by("-created_at", "-id").first()
    assert (event.from_status, event.to_status, event.actor, event.actor_label, event.reason) == (
        OrderStatus.AWAITING_PAYMENT,
        OrderStatus.CANCELLED,
        manager,
        MANAGER_EMAIL,
        "Customer called",
    )
    assert "1 order(s) cancelled." in manager_client.get(ORDER_CHANGELIST_URL).content.decode()


def test_paid_order_cannot_be_cancelled_from_admin(manager_client: Client, manager: User) -> None:
    order = _place("grace@example.test")

    paid = _run_order_action(manager_client, "record_payment_at_till", order)

    assert paid.status_code == 302
    order.refresh_from_db()
    assert order.status == OrderStatus.PAID
    till = OrderEvent.objects.get(order=order, to_status=OrderStatus.PAID)
    assert (till.actor, till.reason) == (manager, PAID_IN_PERSON)
    assert "1 order(s) marked paid." in manager_client.get(ORDER_CHANGELIST_URL).content.decode()

    refused = _run_order_action(manager_client, "cancel_orders", order, apply="1", reason="Customer called")

    assert refused.status_code == 302
    page = manager_client.get(ORDER_CHANGELIST_URL)
    shown = [(message.level_tag, str(message)) for message in page.context["messages"]]
    assert shown == [("error", f"Order {order.number}: An order that is paid cannot become cancelled.")]
    order.refresh_from_db()
    assert order.status == OrderStatus.PAID
    assert not order.events.filter(to_status=OrderStatus.CANCELLED).exists()
