"""Who may do what: the one permission matrix of Brigade.

Pages, admin, the order state machine, sockets and the API ask
`can(actor_or_user, Capability.X)`; the Django permissions of each role's
group are derived from the same table, so admin enforces it too. Changing a
rule here changes it everywhere, and tests/accounts/test_permission_matrix.py
holds an independent copy of the table that fails on any flip.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db import models

from accounts.roles import Actor, Role, roles_of

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser

    from accounts.models import User


class Capability(models.TextChoices):
    # Take orders for a table and follow open orders on the floor page.
    WORK_THE_FLOOR = "work_the_floor"
    # Cancel one's own order while no money has been taken.
    CANCEL_OWN_UNPAID_ORDER = "cancel_own_unpaid_order"
    # Call off one's own paid order before the kitchen starts it, for a refund.
    CANCEL_OWN_PAID_ORDER = "cancel_own_paid_order"
    # Cancel anyone's unpaid order, with a reason (a table left, a prank order).
    CANCEL_ANY_UNPAID_ORDER = "cancel_any_unpaid_order"
    # Record a payment: the provider's webhook, or cash/card at the table.
    TAKE_PAYMENT = "take_payment"
    # Send a table's order to the kitchen unpaid, as a round on the table's tab,
    # paid when the table asks for the bill (orders.tabs).
    PUT_ON_TAB = "put_on_tab"
    # Open any order's page, whoever placed it.
    SEE_ANY_ORDER = "see_any_order"
    # Open the kitchen board.
    USE_KITCHEN_BOARD = "use_kitchen_board"
    # Start, bump and recall orders on the board.
    COOK = "cook"
    # Hand a ready order over: served, picked up, given to the driver.
    SERVE = "serve"
    # Give money back for a paid order.
    REFUND = "refund"
    # Sign in to Django admin at all.
    USE_ADMIN = "use_admin"
    # Edit the menu: items, modifiers, prices, 86.
    MANAGE_MENU = "manage_menu"
    # Orders in admin: search, audit trail, cancel with reason, payment at the till.
    MANAGE_ORDERS = "manage_orders"
    # Customers and staff in admin: VIP flag, roles.
    MANAGE_PEOPLE = "manage_people"
    # Feature flags.
    MANAGE_FLAGS = "manage_flags"
    # Place orders for one's own customers over the API and follow them (a delivery partner's key).
    PLACE_PARTNER_ORDERS = "place_partner_orders"
    # The restaurant's tables in admin: add, rename, retire, print their QR codes.
    MANAGE_TABLES = "manage_tables"


C = Capability
_CUSTOMER, _WAITER, _CHEF, _MANAGER, _SYSTEM, _PARTNER = (
    Role.CUSTOMER,
    Role.WAITER,
    Role.CHEF,
    Role.MANAGER,
    Role.SYSTEM,
    Role.PARTNER,
)

MATRIX: dict[Capability, frozenset[Role]] = {
    C.WORK_THE_FLOOR: frozenset({_WAITER, _MANAGER}),
    C.CANCEL_OWN_UNPAID_ORDER: frozenset({_CUSTOMER}),
    C.CANCEL_OWN_PAID_ORDER: frozenset({_CUSTOMER}),
    C.CANCEL_ANY_UNPAID_ORDER: frozenset({_WAITER, _MANAGER, _SYSTEM}),
    C.TAKE_PAYMENT: frozenset({_WAITER, _MANAGER, _SYSTEM}),
    # People on the floor only: no system job, partner or customer ever opens a tab.
    C.PUT_ON_TAB: frozenset({_WAITER, _MANAGER}),
    C.SEE_ANY_ORDER: frozenset({_WAITER, _CHEF, _MANAGER}),
    C.USE_KITCHEN_BOARD: frozenset({_CHEF, _MANAGER}),
    C.COOK: frozenset({_CHEF, _MANAGER}),
    C.SERVE: frozenset({_WAITER, _CHEF, _MANAGER}),
    C.REFUND: frozenset({_MANAGER, _SYSTEM}),
    C.USE_ADMIN: frozenset({_MANAGER}),
    C.MANAGE_MENU: frozenset({_MANAGER}),
    C.MANAGE_ORDERS: frozenset({_MANAGER}),
    C.MANAGE_PEOPLE: frozenset({_MANAGER}),
    C.MANAGE_FLAGS: frozenset({_MANAGER}),
    C.PLACE_PARTNER_ORDERS: frozenset({_PARTNER}),
    C.MANAGE_TABLES: frozenset({_MANAGER}),
}

# The Django model permissions ("app_label.codename", or "app_label.*" for
# every permission of the app) that make a capability work in admin.
DJANGO_PERMISSIONS: dict[Capability, tuple[str, ...]] = {
    # Stations and which station cooks each item are part of running the menu.
    C.MANAGE_MENU: (
        "menu.*",
        "kitchen.view_station",
        "kitchen.add_station",
        "kitchen.change_station",
        "kitchen.delete_station",
        "kitchen.view_itemroute",
        "kitchen.add_itemroute",
        "kitchen.change_itemroute",
        "kitchen.delete_itemroute",
        # The nightly inventory reports the pantry; read-only, as the job writes them.
        "orders.view_inventoryreport",
    ),
    C.MANAGE_ORDERS: (
        "orders.view_order",
        "orders.change_order",
        "orders.view_orderitem",
        "orders.view_orderevent",
        # Tables' tabs are read-only in admin: they change on the floor, by their services.
        "orders.view_tab",
        "orders.view_tabround",
        # Payments and refunds are read-only in admin: a mismatch or a failed refund is found there.
        "orders.view_payment",
        "orders.view_refund",
        "orders.view_outboxevent",
        "orders.view_deadletter",
        "orders.change_deadletter",
        "orders.view_partner",
        "orders.add_partner",
        "orders.change_partner",
        "orders.view_partnerdelivery",
        "orders.change_partnerdelivery",
        # Partners' API keys: made (the key is shown once), renamed, given an expiry, revoked; never deleted.
        "orders.view_partnerapikey",
        "orders.add_partnerapikey",
        "orders.change_partnerapikey",
        "kitchen.view_ticket",
        # Kitchen pacing: capacity per slot, the hard cap, opening hours (one row, never deleted).
        "orders.view_kitchenpacing",
        "orders.change_kitchenpacing",
        "orders.view_openinghours",
        "orders.add_openinghours",
        "orders.change_openinghours",
        "orders.delete_openinghours",
        # Coupons: a used one is never deleted (its orders point at it), only switched off.
        "orders.view_coupon",
        "orders.add_coupon",
        "orders.change_coupon",
        "orders.delete_coupon",
    ),
    C.MANAGE_PEOPLE: (
        "accounts.view_user",
        "accounts.change_user",
        "accounts.view_address",
        "auth.view_group",
    ),
    C.MANAGE_FLAGS: ("waffle.*",),
    # Delete only removes a table no order names (admin refuses the rest): a typo, not history.
    C.MANAGE_TABLES: ("orders.view_table", "orders.add_table", "orders.change_table", "orders.delete_table"),
}


def can(who: Actor | User | AnonymousUser, capability: Capability) -> bool:
    roles = who.roles if isinstance(who, Actor) else roles_of(who)
    return bool(roles & MATRIX[capability])


def capabilities_of(role: Role) -> frozenset[Capability]:
    return frozenset(capability for capability, roles in MATRIX.items() if role in roles)


def django_permissions_of(role: Role) -> tuple[str, ...]:
    return tuple(
        permission
        for capability in sorted(capabilities_of(role))
        for permission in DJANGO_PERMISSIONS.get(capability, ())
    )


# ---------------------------------------------------------------- account administration

# The roles a manager grants and revokes, on the accounts they may administer
# (accounts.selectors.users_administrable_by). The manager role, the staff
# flag, superuser and raw permissions are a superuser's to give: a manager who
# could hand them out could make another manager, or someone above themselves.
ROLES_MANAGERS_GRANT: frozenset[Role] = frozenset({_CUSTOMER, _WAITER, _CHEF})
