"""VIP specials behind the flag "vip_specials": who sees them, who may order them, the VIP group."""

from __future__ import annotations

import importlib

import pytest
from django.apps import apps
from django.contrib.auth.models import Group
from django.test import Client
from django.urls import reverse
from waffle.models import Flag

from accounts.vip import VIP_GROUP
from menu.flags import VIP_SPECIALS_FLAG
from menu.models import MenuItem
from orders.models import Order
from tests.conftest import client_for
from tests.orders.flows import add_to_cart, checkout

pytestmark = pytest.mark.django_db

JSON = {"HTTP_ACCEPT": "application/json"}


def _set(flag: Flag, capture, *, everyone: bool | None, percent: int | None = None) -> None:
    with capture(execute=True):  # the menu version moves when the change commits
        flag.everyone = everyone
        flag.percent = percent
        flag.save()


def _sees_special(client: Client) -> bool:
    page = client.get("/menu/").content.decode()
    return 'data-item="truffle-wagyu"' in page


def _add_special(client: Client, special: MenuItem):
    return client.post(reverse("orders:cart_add"), {"item": special.pk, "quantity": 1}, **JSON)


def _unknown_item_answer(client: Client) -> dict:
    answer = client.post(reverse("orders:cart_add"), {"item": 987654, "quantity": 1}, **JSON)
    assert answer.status_code == 400
    body = answer.json()
    body["error"].pop("request_id")
    return body


def _refused_like_an_unknown_item(client: Client, special: MenuItem) -> bool:
    answer = _add_special(client, special)
    body = answer.json()
    body["error"].pop("request_id")
    return answer.status_code == 400 and body == _unknown_item_answer(client)


def test_the_flag_is_off_after_migrating_and_aimed_at_the_vip_group():
    flag = Flag.objects.get(name=VIP_SPECIALS_FLAG)
    assert flag.everyone is False
    assert list(flag.groups.values_list("name", flat=True)) == [VIP_GROUP]


def test_no_one_the_special_does_not_exist_for_anybody(flag, special, vip, actors):
    for client in (Client(), client_for(actors.customer), client_for(vip)):
        assert not _sees_special(client)
        assert client.get(special.get_absolute_url()).status_code == 404
        assert _refused_like_an_unknown_item(client, special)


def test_vip_group_only_vips_see_and_order_it(flag, special, vip, actors, django_capture_on_commit_callbacks):
    _set(flag, django_capture_on_commit_callbacks, everyone=None)

    vip_client = client_for(vip)
    assert _sees_special(vip_client)
    page = vip_client.get(special.get_absolute_url())
    assert page.status_code == 200 and "VIP special" in page.content.decode()
    assert add_to_cart(vip_client, special).status_code == 302

    for client in (Client(), client_for(actors.customer)):
        assert not _sees_special(client)
        assert client.get(special.get_absolute_url()).status_code == 404
        assert _refused_like_an_unknown_item(client, special)
        # The browser's form gets the menu again, as for an item that does not exist.
        refused = add_to_cart(client, special)
        assert refused.status_code == 400 and "That item is not on the menu." in refused.content.decode()
        assert client.get("/cart/").context["rows"] == []


def test_everyone_even_a_guest_orders_it(flag, special, django_capture_on_commit_callbacks):
    _set(flag, django_capture_on_commit_callbacks, everyone=True)
    guest = Client()

    assert _sees_special(guest)
    assert add_to_cart(guest, special).status_code == 302
    assert checkout(guest).status_code == 302
    assert Order.objects.get().items.get().name == "Truffle Wagyu"


def test_a_percentage_of_visitors_within_statistical_bounds_each_keeping_their_draw(
    flag, special, django_capture_on_commit_callbacks
):
    _set(flag, django_capture_on_commit_callbacks, everyone=None, percent=30)

    # A thousand browsers with their own cookies, served by one handler: Django
    # builds the middleware once per handler, as a server process does.
    visitors = [Client() for _ in range(1000)]
    for visitor in visitors[1:]:
        visitor.handler = visitors[0].handler
    drawn = [_sees_special(visitor) for visitor in visitors]

    # Binomial(1000, 0.3): mean 300, standard deviation 14.5; ±75 is over five of them.
    assert 225 <= sum(drawn) <= 375, sum(drawn)
    # Sticky: the draw is kept in waffle's cookie, and every later page agrees with it.
    for visitor, first in list(zip(visitors, drawn, strict=True))[:60]:
        assert all(_sees_special(visitor) == first for _ in range(3))
        added = _add_special(visitor, special)
        assert (added.status_code == 302) == first, added.content


def test_a_crafted_post_without_a_draw_never_draws(flag, special, django_capture_on_commit_callbacks):
    _set(flag, django_capture_on_commit_callbacks, everyone=None, percent=99.9)

    # A client that never looked at the menu has no draw, and the cart does not make one.
    for _ in range(20):
        assert _refused_like_an_unknown_item(Client(), special)


def test_checkout_checks_again_after_the_flag_went_off(
    flag, special, vip, small_menu, django_capture_on_commit_callbacks
):
    _set(flag, django_capture_on_commit_callbacks, everyone=True)
    guest = Client()
    assert add_to_cart(guest, special).status_code == 302
    assert add_to_cart(guest, small_menu.fries).status_code == 302
    token_page = guest.get(reverse("orders:checkout"))
    assert token_page.status_code == 200

    _set(flag, django_capture_on_commit_callbacks, everyone=False)

    cart = guest.get("/cart/")
    assert [row["error"] for row in cart.context["rows"]] == ["That item is not on the menu.", None]
    refused = checkout(guest)
    assert refused.status_code == 400
    assert "That item is not on the menu." in refused.content.decode()
    assert not Order.objects.exists()


def test_the_cached_menu_holds_the_special_yet_a_visitor_without_the_flag_can_neither_add_nor_keep_it(
    flag, special, vip, django_capture_on_commit_callbacks
):
    _set(flag, django_capture_on_commit_callbacks, everyone=None)
    vip_client, guest = client_for(vip), Client()
    # The VIP's cart is priced against the one snapshot everyone's is, specials and all.
    assert add_to_cart(vip_client, special).status_code == 302
    assert _refused_like_an_unknown_item(guest, special)

    # A line smuggled into the guest's session is no better.
    session = guest.session
    session["cart"] = [dict(vip_client.session["cart"][0])]
    session.save()
    assert [row["error"] for row in guest.get("/cart/").context["rows"]] == ["That item is not on the menu."]
    line = guest.session["cart"][0]["id"]
    raised = guest.post(reverse("orders:cart_update"), {"line": line, "quantity": 2}, **JSON)
    assert raised.status_code == 400 and raised.json()["error"]["code"] == "unknown_item"
    assert guest.session["cart"][0]["quantity"] == 1


def test_the_vip_group_follows_the_vip_tick_even_through_the_admin_form(actors, django_user_model):
    customer = actors.customer
    vip_group = Group.objects.get_or_create(name=VIP_GROUP)[0]

    customer.is_vip = True
    customer.save()
    assert customer.groups.filter(pk=vip_group.pk).exists()

    # A form that sets the groups it offers (VIP is never offered) keeps VIP.
    customer.groups.set([Group.objects.get(name="customer")])
    assert set(customer.groups.values_list("name", flat=True)) == {"customer", VIP_GROUP}

    customer.is_vip = False
    customer.save()
    assert not customer.groups.filter(pk=vip_group.pk).exists()
    # Nobody is put in the group by hand without the tick.
    customer.groups.add(vip_group)
    assert not customer.groups.filter(pk=vip_group.pk).exists()


def test_the_migration_puts_every_vip_in_the_group(actors):
    django_user_model = apps.get_model("accounts", "User")
    django_user_model.objects.filter(pk=actors.customer.pk).update(is_vip=True)  # no signal: as before
    Group.objects.filter(name=VIP_GROUP).delete()

    migration = importlib.import_module("accounts.migrations.0004_vip_group")
    migration.vip_group_fill(apps, None)

    members = Group.objects.get(name=VIP_GROUP).user_set.all()
    assert list(members) == [actors.customer]


def test_a_manager_makes_a_vip_in_admin_and_the_vip_sees_the_specials(
    flag, special, actors, django_capture_on_commit_callbacks
):
    _set(flag, django_capture_on_commit_callbacks, everyone=None)
    customer = client_for(actors.customer)
    assert not _sees_special(customer)

    manager = client_for(actors.manager)
    changed = manager.post(
        reverse("admin:accounts_user_changelist"),
        {
            "form-TOTAL_FORMS": "1",
            "form-INITIAL_FORMS": "1",
            "form-0-id": actors.customer.pk,
            "form-0-is_vip": "on",
            "_save": "Save",
        },
    )
    assert changed.status_code == 302

    assert _sees_special(customer)
