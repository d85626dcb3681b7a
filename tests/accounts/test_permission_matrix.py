"""The permission matrix, walked in full: every protected door x every actor.

EXPECTED_MATRIX is written out independently of accounts.permissions, so
flipping any one rule there fails test_the_matrix_is_exactly_what_the_restaurant_agreed.
The door walk then checks that pages, actions and admin honour the matrix.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pytest
from django.urls import reverse

from accounts.permissions import MATRIX, Capability, capabilities_of, django_permissions_of
from accounts.roles import Actor, Role
from accounts.services import address_add, app_session_start
from kitchen.models import Ticket
from kitchen.services import tickets_create_for_order
from orders.models import Order, OrderStatus
from orders.pricing import CartLine
from orders.services import OrderDetails, order_place, order_transition
from restaurant.api.clients import ApiScope
from tests.accounts.mfa_helpers import totp_code, totp_for
from tests.conftest import PASSWORD, client_for
from tests.orders.flows import three_lines
from tests.sockets import connects, socket_for

C = Capability
ALL_ACTORS = ("anonymous", "customer", "other_customer", "waiter", "chef", "manager")

EXPECTED_MATRIX = {
    "work_the_floor": {"waiter", "manager"},
    "cancel_own_unpaid_order": {"customer"},
    "cancel_own_paid_order": {"customer"},
    "cancel_any_unpaid_order": {"waiter", "manager", "system"},
    "take_payment": {"waiter", "manager", "system"},
    "put_on_tab": {"waiter", "manager"},
    "see_any_order": {"waiter", "chef", "manager"},
    "use_kitchen_board": {"chef", "manager"},
    "cook": {"chef", "manager"},
    "serve": {"waiter", "chef", "manager"},
    "refund": {"manager", "system"},
    "use_admin": {"manager"},
    "manage_menu": {"manager"},
    "manage_orders": {"manager"},
    "manage_people": {"manager"},
    "manage_flags": {"manager"},
    "place_partner_orders": {"partner"},
    "manage_tables": {"manager"},
}


def test_the_matrix_is_exactly_what_the_restaurant_agreed():
    actual = {capability.value: {role.value for role in roles} for capability, roles in MATRIX.items()}
    assert actual == EXPECTED_MATRIX


def test_only_the_manager_group_holds_admin_permissions():
    assert django_permissions_of(Role.CUSTOMER) == ()
    assert django_permissions_of(Role.WAITER) == ()
    assert django_permissions_of(Role.CHEF) == ()
    assert "menu.*" in django_permissions_of(Role.MANAGER)
    assert C.USE_ADMIN in capabilities_of(Role.MANAGER)


@pytest.mark.django_db
def test_role_groups_hold_exactly_the_permissions_the_matrix_implies():
    from django.contrib.auth.models import Group

    manager = Group.objects.get(name="manager")
    codes = {
        f"{p.content_type.app_label}.{p.codename}" for p in manager.permissions.select_related("content_type")
    }
    assert "menu.change_menuitem" in codes
    assert "orders.change_order" in codes
    assert "orders.delete_order" not in codes
    assert "accounts.change_user" in codes
    for name in ("customer", "waiter", "chef"):
        assert not Group.objects.get(name=name).permissions.exists(), name


# ---------------------------------------------------------------- the door walk


def _people(actors) -> dict:
    """Each actor of ALL_ACTORS as a user (None: anonymous)."""
    return {
        "anonymous": None,
        "customer": actors.customer,
        "other_customer": actors.other_customer,
        "waiter": actors.waiter,
        "chef": actors.chef,
        "manager": actors.manager,
    }


# Sets the scene for a door; holds every role so no setup step is refused.
EVERY_ROLE = Actor(label="test setup", roles=frozenset(Role))


def _order(menu, owner, status: str = OrderStatus.AWAITING_PAYMENT) -> Order:
    order, _ = order_place(
        lines=[CartLine(menu.fries.pk, 1)],
        details=OrderDetails(order_type="pickup", contact_name="A", contact_email="a@example.test"),
        actor=Actor.for_user(owner),
    )
    steps = {
        OrderStatus.PAID: [OrderStatus.PAID],
        OrderStatus.READY: [OrderStatus.PAID, OrderStatus.IN_PREPARATION, OrderStatus.READY],
    }
    for step in steps.get(status, []):
        order = order_transition(order=order, to_status=step, actor=EVERY_ROLE)
    return order


def _admin_action(action: str) -> Callable:
    def run(client, order: Order):
        return client.post(
            reverse("admin:orders_order_changelist"),
            {"action": action, "_selected_action": [order.pk], "apply": "1", "reason": "walk"},
        )

    return run


def _floor_action(action: str) -> Callable:
    def run(client, order: Order):
        return client.post(
            reverse("orders:floor_action", args=[order.pk]),
            {"action": action, "version": order.version, "reason": "table left"},
        )

    return run


def _start_its_ticket(client, order: Order):
    # Paying made the tickets; an order paid in a test's own way may not have them yet.
    tickets_create_for_order(order_id=order.pk)
    ticket = Ticket.objects.filter(order=order).first()
    return client.post(
        reverse("kitchen:ticket_move", args=[ticket.pk]), {"move": "start", "version": ticket.version}
    )


# Admin pages: everyone but the manager is sent to the admin sign-in page.
ADMIN_ONLY = {
    "anonymous": 302,
    "customer": 302,
    "other_customer": 302,
    "waiter": 302,
    "chef": 302,
    "manager": 200,
}
# Floor actions: waiters and managers act (and are redirected back), others are refused.
FLOOR_MOVE = {
    "anonymous": 302,
    "customer": 403,
    "other_customer": 403,
    "waiter": 302,
    "chef": 403,
    "manager": 302,
}

# door -> (how to knock, what it needs from the order, expected status per actor)
DOORS: dict[str, tuple[Callable, str | None, dict[str, int]]] = {
    "open the customer's order page": (
        lambda client, order: client.get(order.get_absolute_url()),
        OrderStatus.AWAITING_PAYMENT,
        {
            "anonymous": 404,
            "customer": 200,
            "other_customer": 404,
            "waiter": 200,
            "chef": 200,
            "manager": 200,
        },
    ),
    "cancel the customer's unpaid order": (
        lambda client, order: client.post(
            reverse("orders:cancel", args=[order.tracking_token]),
            {"version": order.version, "reason": "walk"},
        ),
        OrderStatus.AWAITING_PAYMENT,
        {
            "anonymous": 404,
            "customer": 302,
            "other_customer": 404,
            "waiter": 302,
            "chef": 403,
            "manager": 302,
        },
    ),
    "list my orders": (
        lambda client, order: client.get(reverse("orders:mine")),
        None,
        {
            "anonymous": 302,
            "customer": 200,
            "other_customer": 200,
            "waiter": 200,
            "chef": 200,
            "manager": 200,
        },
    ),
    "open the kitchen board": (
        lambda client, order: client.get(reverse("kitchen:board")),
        None,
        {
            "anonymous": 302,
            "customer": 403,
            "other_customer": 403,
            "waiter": 403,
            "chef": 200,
            "manager": 200,
        },
    ),
    "start cooking a paid order": (
        _start_its_ticket,
        OrderStatus.PAID,
        {
            "anonymous": 302,
            "customer": 403,
            "other_customer": 403,
            "waiter": 403,
            "chef": 302,
            "manager": 302,
        },
    ),
    "open admin": (
        lambda client, order: client.get(reverse("admin:index")),
        None,
        ADMIN_ONLY,
    ),
    "edit the menu in admin": (
        lambda client, order: client.get(reverse("admin:menu_menuitem_changelist")),
        None,
        ADMIN_ONLY,
    ),
    "see orders in admin": (
        lambda client, order: client.get(reverse("admin:orders_order_changelist")),
        None,
        ADMIN_ONLY,
    ),
    "manage tables in admin": (
        lambda client, order: client.get(reverse("admin:orders_table_changelist")),
        None,
        ADMIN_ONLY,
    ),
    "print the tables' QR codes": (
        lambda client, order: client.get(reverse("admin:orders_table_qr_sheet")),
        None,
        ADMIN_ONLY,
    ),
    "see people in admin": (
        lambda client, order: client.get(reverse("admin:accounts_user_changelist")),
        None,
        ADMIN_ONLY,
    ),
    "open the floor page": (
        lambda client, order: client.get(reverse("orders:floor")),
        None,
        {
            "anonymous": 302,
            "customer": 403,
            "other_customer": 403,
            "waiter": 200,
            "chef": 403,
            "manager": 200,
        },
    ),
    "take payment at the table": (
        _floor_action("paid"),
        OrderStatus.AWAITING_PAYMENT,
        FLOOR_MOVE,
    ),
    "cancel an order from the floor": (
        _floor_action("cancel"),
        OrderStatus.AWAITING_PAYMENT,
        FLOOR_MOVE,
    ),
    "mark a ready order served": (
        _floor_action("served"),
        OrderStatus.READY,
        FLOOR_MOVE,
    ),
    "record payment at the till in admin": (
        _admin_action("record_payment_at_till"),
        OrderStatus.AWAITING_PAYMENT,
        {
            "anonymous": 302,
            "customer": 302,
            "other_customer": 302,
            "waiter": 302,
            "chef": 302,
            "manager": 302,
        },
    ),
}

# What each door changes when it lets the actor through, to tell a real
# "allowed" from a redirect to the sign-in page.
EFFECTS = {
    "take payment at the table": OrderStatus.PAID,
    "cancel an order from the floor": OrderStatus.CANCELLED,
    "mark a ready order served": OrderStatus.COMPLETED,
    "cancel the customer's unpaid order": OrderStatus.CANCELLED,
    "start cooking a paid order": OrderStatus.IN_PREPARATION,
    "record payment at the till in admin": OrderStatus.PAID,
}
ALLOWED_TO_CHANGE = {
    "take payment at the table": {"waiter", "manager"},
    "cancel an order from the floor": {"waiter", "manager"},
    "mark a ready order served": {"waiter", "manager"},
    "cancel the customer's unpaid order": {"customer", "waiter", "manager"},
    "start cooking a paid order": {"chef", "manager"},
    "record payment at the till in admin": {"manager"},
}


@pytest.mark.django_db
@pytest.mark.parametrize("door", list(DOORS))
def test_every_door_answers_every_actor_as_the_matrix_says(door, actors, small_menu):
    knock, needs_order, expected = DOORS[door]
    people = _people(actors)
    # A waiter ticked "staff" by mistake still does not get into admin.
    actors.waiter.is_staff = True
    actors.waiter.save()

    answers, changed = {}, {}
    for name in ALL_ACTORS:
        order = _order(small_menu, actors.customer, needs_order) if needs_order else None
        answers[name] = knock(client_for(people[name]), order).status_code
        if order is not None and door in EFFECTS:
            order.refresh_from_db()
            changed[name] = order.status == EFFECTS[door]

    assert answers == expected
    if door in EFFECTS:
        assert {name for name, did in changed.items() if did} == ALLOWED_TO_CHANGE[door]


# ---------------------------------------------------------------- the sign-in doors

# Every door that takes a secret or starts an account, each knocked on the way a
# visitor would. All of them spend one per-IP budget (accounts.sign_in_limits),
# so a guesser cannot move to another door for a fresh one.
SIGN_IN_BUDGET = 3
LIMITED_IP = "203.0.113.77"


def _wrong_code(secret: str) -> str:
    return "000000" if totp_code(secret) != "000000" else "111111"


def _knock_sign_in(actors) -> Callable:
    return lambda ip: client_for(None).post(
        reverse("account_login"), {"login": actors.customer.email, "password": "guess"}, REMOTE_ADDR=ip
    )


def _knock_admin_sign_in(actors) -> Callable:
    def knock(ip: str):
        client = client_for(None)
        # Admin's own login page only sends the visitor on, to the limited one.
        sent_to = client.get(reverse("admin:login"), REMOTE_ADDR=ip)["Location"]
        assert sent_to.startswith(reverse("account_login") + "?")
        return client.post(sent_to, {"login": actors.manager.email, "password": "guess"}, REMOTE_ADDR=ip)

    return knock


def _knock_second_factor(actors) -> Callable:
    secret = totp_for(actors.manager)
    client = client_for(None)
    client.post(
        reverse("account_login"),
        {"login": actors.manager.email, "password": PASSWORD},
        REMOTE_ADDR="198.51.100.200",
    )
    return lambda ip: client.post(reverse("mfa_authenticate"), {"code": _wrong_code(secret)}, REMOTE_ADDR=ip)


def _knock_second_factor_again(actors) -> Callable:
    secret = totp_for(actors.manager)
    client = client_for(actors.manager)
    return lambda ip: client.post(
        reverse("mfa_reauthenticate"), {"code": _wrong_code(secret)}, REMOTE_ADDR=ip
    )


def _knock_password_again(actors) -> Callable:
    client = client_for(actors.manager)
    return lambda ip: client.post(reverse("account_reauthenticate"), {"password": "guess"}, REMOTE_ADDR=ip)


def _knock_sign_up(actors) -> Callable:
    emails = (f"newcomer-{n}@example.test" for n in range(100))
    return lambda ip: client_for(None).post(
        reverse("account_signup"),
        {"email": next(emails), "password1": "a-long-new-password-42", "password2": "a-long-new-password-42"},
        REMOTE_ADDR=ip,
    )


def _knock_password_reset(actors) -> Callable:
    return lambda ip: client_for(None).post(
        reverse("account_reset_password"), {"email": actors.customer.email}, REMOTE_ADDR=ip
    )


def _knock_api_token(actors) -> Callable:
    return lambda ip: client_for(None).post(
        "/api/v1/auth/token/",
        {"email": actors.customer.email, "password": "guess"},
        content_type="application/json",
        REMOTE_ADDR=ip,
    )


SIGN_IN_DOORS: dict[str, Callable] = {
    "app sign-in (API token)": _knock_api_token,
    "sign in (allauth)": _knock_sign_in,
    "sign in to admin": _knock_admin_sign_in,
    "second factor at sign-in (MFA stage)": _knock_second_factor,
    "second factor again (MFA reauthentication)": _knock_second_factor_again,
    "password again (reauthentication)": _knock_password_again,
    "sign up": _knock_sign_up,
    "password reset": _knock_password_reset,
}


@pytest.mark.django_db
@pytest.mark.parametrize("door", list(SIGN_IN_DOORS))
def test_every_sign_in_door_goes_through_the_one_limiter(door, verified_actors, settings):
    settings.SIGN_IN_RATE_PER_IP = f"{SIGN_IN_BUDGET}/5m"
    knock = SIGN_IN_DOORS[door](verified_actors)

    answers = [knock(LIMITED_IP) for _ in range(SIGN_IN_BUDGET + 1)]

    assert [answer.status_code for answer in answers[:SIGN_IN_BUDGET]].count(429) == 0, door
    refused = answers[SIGN_IN_BUDGET]
    assert refused.status_code == 429, door
    assert int(refused["Retry-After"]) > 0
    # One budget for all doors: the address is refused at the sign-in page too.
    assert _knock_sign_in(verified_actors)(LIMITED_IP).status_code == 429
    # Other addresses are not.
    assert knock("198.51.100.201").status_code != 429


# ---------------------------------------------------------------- the API doors

API_ACTORS = (*ALL_ACTORS, "partner")


@dataclass
class Caller:
    """How each actor knocks on the API: people with an app's token, the partner with its key."""

    headers: dict[str, str]
    actors: object
    menu: object

    def get(self, path: str):
        return client_for(None).get(path, **self.headers)

    def post(self, path: str, body: object = None):
        return client_for(None).post(path, body or {}, content_type="application/json", **self.headers)

    def customers_order(self) -> Order:
        """A fresh unpaid order of the customer's, for a door that acts on one."""
        return _order(self.menu, self.actors.customer)

    def customers_address(self) -> int:
        return address_add(user=self.actors.customer, make_default=False, **_AN_ADDRESS).pk

    def a_ticket(self) -> Ticket:
        order = _order(self.menu, self.actors.customer, OrderStatus.PAID)
        tickets_create_for_order(order_id=order.pk)
        return Ticket.objects.filter(order=order).first()


def _callers(actors, menu, partner_key) -> dict[str, Caller]:
    people = _people(actors)
    headers = {
        name: {"HTTP_AUTHORIZATION": f"Bearer {app_session_start(user=user).access}"} if user else {}
        for name, user in people.items()
    }
    headers["partner"] = {"HTTP_AUTHORIZATION": partner_key(*ApiScope.values)}
    return {name: Caller(headers[name], actors, menu) for name in API_ACTORS}


_AN_ADDRESS = {
    "label": "Home",
    "street": "1 Quay Street",
    "city": "Galway",
    "postcode": "",
    "instructions": "",
}
# A door for people about their own account.
PEOPLE_ONLY = {**dict.fromkeys(ALL_ACTORS, 200), "anonymous": 401, "partner": 403}
# A door on the customer's own address: nobody else's account has it.
ON_THE_CUSTOMERS_ADDRESS = {
    **dict.fromkeys(ALL_ACTORS, 404),
    "customer": 200,
    "anonymous": 401,
    "partner": 403,
}
# The kitchen board's doors.
KITCHEN_ONLY = {**dict.fromkeys(API_ACTORS, 403), "anonymous": 401, "chef": 200, "manager": 200}

# A door on the customer's order answers as the order page does: staff see any order.
ON_THE_CUSTOMERS_ORDER = {
    "anonymous": 401,
    "customer": 200,
    "other_customer": 404,
    "waiter": 200,
    "chef": 200,
    "manager": 200,
}


def _api_cancel(caller: Caller, order: Order):
    return caller.post(f"/api/v1/orders/{order.pk}/cancel/", {"version": order.version, "reason": "walk"})


# door -> (how to knock, expected status per actor). Every /api/v1/ operation is here
# (test_every_api_operation_is_in_the_walk checks the schema against it).
API_DOORS: dict[str, tuple[Callable, dict[str, int]]] = {
    "GET /api/v1/menu/": (lambda c: c.get("/api/v1/menu/"), dict.fromkeys(API_ACTORS, 200)),
    "GET /api/v1/menu/items/{slug}/": (
        lambda c: c.get("/api/v1/menu/items/fries/"),
        dict.fromkeys(API_ACTORS, 200),
    ),
    "GET /api/v1/menu/availability/": (
        lambda c: c.get("/api/v1/menu/availability/"),
        dict.fromkeys(API_ACTORS, 200),
    ),
    "GET /api/v1/me/": (lambda c: c.get("/api/v1/me/"), PEOPLE_ONLY),
    "POST /api/v1/sockets/ticket/": (
        lambda c: c.post("/api/v1/sockets/ticket/"),
        {**PEOPLE_ONLY, **dict.fromkeys(ALL_ACTORS[1:], 201)},
    ),
    "POST /api/v1/me/update/": (lambda c: c.post("/api/v1/me/update/", {}), PEOPLE_ONLY),
    "GET /api/v1/me/addresses/": (lambda c: c.get("/api/v1/me/addresses/"), PEOPLE_ONLY),
    "POST /api/v1/me/addresses/create/": (
        lambda c: c.post("/api/v1/me/addresses/create/", _AN_ADDRESS),
        {**PEOPLE_ONLY, **dict.fromkeys(ALL_ACTORS[1:], 201)},
    ),
    "POST /api/v1/me/addresses/{address_id}/update/": (
        lambda c: c.post(f"/api/v1/me/addresses/{c.customers_address()}/update/", _AN_ADDRESS),
        ON_THE_CUSTOMERS_ADDRESS,
    ),
    "POST /api/v1/me/addresses/{address_id}/default/": (
        lambda c: c.post(f"/api/v1/me/addresses/{c.customers_address()}/default/"),
        ON_THE_CUSTOMERS_ADDRESS,
    ),
    "POST /api/v1/me/addresses/{address_id}/delete/": (
        lambda c: c.post(f"/api/v1/me/addresses/{c.customers_address()}/delete/"),
        {**ON_THE_CUSTOMERS_ADDRESS, "customer": 204},
    ),
    "GET /api/v1/kitchen/tickets/": (lambda c: c.get("/api/v1/kitchen/tickets/"), KITCHEN_ONLY),
    "POST /api/v1/kitchen/tickets/{ticket_id}/move/": (
        lambda c: c.post(f"/api/v1/kitchen/tickets/{c.a_ticket().pk}/move/", {"move": "start", "version": 1}),
        KITCHEN_ONLY,
    ),
    "POST /api/v1/auth/sign-out/": (
        lambda c: c.post("/api/v1/auth/sign-out/"),
        {**dict.fromkeys(ALL_ACTORS, 204), "anonymous": 401, "partner": 403},
    ),
    "POST /api/v1/orders/": (
        lambda c: c.post("/api/v1/orders/", three_lines(c.menu)),
        {**dict.fromkeys(API_ACTORS, 201), "anonymous": 401},
    ),
    "GET /api/v1/orders/mine/": (
        lambda c: c.get("/api/v1/orders/mine/"),
        {**dict.fromkeys(API_ACTORS, 200), "anonymous": 401},
    ),
    "GET /api/v1/orders/{number}/": (
        lambda c: c.get(f"/api/v1/orders/{c.customers_order().pk}/"),
        {**ON_THE_CUSTOMERS_ORDER, "partner": 404},
    ),
    "POST /api/v1/orders/{number}/cancel/": (
        lambda c: _api_cancel(c, c.customers_order()),
        {**ON_THE_CUSTOMERS_ORDER, "chef": 403, "partner": 403},
    ),
    "POST /api/v1/orders/{number}/payment/": (
        lambda c: c.post(f"/api/v1/orders/{c.customers_order().pk}/payment/"),
        {
            **ON_THE_CUSTOMERS_ORDER,
            "customer": 201,
            "waiter": 201,
            "chef": 201,
            "manager": 201,
            "partner": 404,
        },
    ),
    # Sign-in doors: open to all, refusing what they are sent here (no credentials).
    "POST /api/v1/auth/token/": (lambda c: c.post("/api/v1/auth/token/"), dict.fromkeys(API_ACTORS, 400)),
    "POST /api/v1/auth/token/refresh/": (
        lambda c: c.post("/api/v1/auth/token/refresh/"),
        dict.fromkeys(API_ACTORS, 400),
    ),
}


@pytest.mark.django_db
@pytest.mark.parametrize("door", list(API_DOORS))
def test_every_api_door_answers_every_actor_as_the_matrix_says(door, actors, small_menu, partner_key):
    knock, expected = API_DOORS[door]

    answers = {
        name: knock(caller).status_code for name, caller in _callers(actors, small_menu, partner_key).items()
    }

    assert answers == expected


def test_every_api_operation_is_in_the_walk():
    from drf_spectacular.generators import SchemaGenerator

    schema = SchemaGenerator().get_schema(request=None, public=True)
    operations = {
        f"{method.upper()} {route}"
        for route, methods in schema["paths"].items()
        for method in methods
        if method in {"get", "post", "put", "patch", "delete"}
    }
    assert operations == set(API_DOORS)


# ---------------------------------------------------------------- the sockets

# socket -> whether each actor's socket is accepted (refused ones are closed with 4403)
SOCKETS: dict[str, dict[str, bool]] = {
    "/ws/kitchen/": {
        "anonymous": False,
        "customer": False,
        "other_customer": False,
        "waiter": False,
        "chef": True,
        "manager": True,
    },
    "/ws/floor/": {
        "anonymous": False,
        "customer": False,
        "other_customer": False,
        "waiter": True,
        "chef": False,
        "manager": True,
    },
    # The customer's own order: the same people as its page (staff may see any order).
    "/ws/orders/<the customer's order>/": {
        "anonymous": False,
        "customer": True,
        "other_customer": False,
        "waiter": True,
        "chef": True,
        "manager": True,
    },
}


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("door", list(SOCKETS))
def test_every_socket_answers_every_actor_as_the_matrix_says(door, actors, small_menu):
    order = _order(small_menu, actors.customer)
    path = door.replace("<the customer's order>", order.tracking_token)
    people = _people(actors)

    answers = {}
    for name in ALL_ACTORS:
        connected, answer = connects(socket_for(path, user=people[name]))
        answers[name] = connected
        if not connected:
            assert answer == 4403, (name, answer)

    assert answers == SOCKETS[door]


# ---------------------------------------------------------------- account administration (who may edit whom)

# editor -> target -> may administer the target's account in admin (see it,
# edit it, set its password). Written out independently of
# accounts.selectors.users_administrable_by.
ADMINISTERS: dict[str, dict[str, bool]] = {
    "anonymous": {
        "a customer": False,
        "a waiter": False,
        "a chef": False,
        "another manager": False,
        "a superuser": False,
    },
    "customer": {
        "a customer": False,
        "a waiter": False,
        "a chef": False,
        "another manager": False,
        "a superuser": False,
        "themselves": False,
    },
    "waiter": {
        "a customer": False,
        "a waiter": False,
        "a chef": False,
        "another manager": False,
        "a superuser": False,
        "themselves": False,
    },
    "chef": {
        "a customer": False,
        "a waiter": False,
        "a chef": False,
        "another manager": False,
        "a superuser": False,
        "themselves": False,
    },
    "manager": {
        "a customer": True,
        "a waiter": True,
        "a chef": True,
        "another manager": False,
        "a superuser": False,
        "themselves": False,
    },
    "superuser": {
        "a customer": True,
        "a waiter": True,
        "a chef": True,
        "another manager": True,
        "a superuser": True,
        "themselves": True,
    },
}
ADMIN_ACCOUNT_DOORS = ("admin:accounts_user_change", "admin:auth_user_password_change")
NEW_PASSWORD = "a-brand-new-passphrase-42"


def _refused(editor: str) -> int:
    # Who may not open admin at all is sent to its sign-in page; who may is
    # told that an account out of their reach does not exist.
    return 404 if editor in {"manager", "superuser"} else 302


@pytest.mark.django_db
@pytest.mark.parametrize("editor", list(ADMINISTERS))
def test_account_administration_answers_every_editor_as_the_table_says(editor, actors):
    from accounts.selectors import may_administer
    from tests.factories import UserFactory

    root = UserFactory(username="rosa", is_superuser=True, is_staff=True)
    editors = _people(actors) | {"superuser": root}
    targets = {
        "a customer": actors.other_customer if editor == "customer" else actors.customer,
        "a waiter": UserFactory(username="wanda", role="waiter"),
        "a chef": UserFactory(username="cleo", role="chef"),
        "another manager": UserFactory(username="milo", role="manager"),
        "a superuser": UserFactory(username="rex", is_superuser=True, is_staff=True),
        "themselves": editors[editor],
    }
    who = editors[editor]

    opened, password_set, rule = {}, {}, {}
    for target in ADMINISTERS[editor]:
        account = targets[target]
        opened[target] = tuple(
            client_for(who).get(reverse(door, args=[account.pk])).status_code for door in ADMIN_ACCOUNT_DOORS
        )
        client_for(who).post(
            reverse("admin:auth_user_password_change", args=[account.pk]),
            {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD, "usable_password": "true"},
        )
        account.refresh_from_db()
        password_set[target] = account.check_password(NEW_PASSWORD)
        rule[target] = who is not None and may_administer(editor=who, target=account)

    expected = ADMINISTERS[editor]
    assert rule == expected
    assert opened == {
        target: (200, 200) if may else (_refused(editor),) * 2 for target, may in expected.items()
    }
    assert password_set == expected
