"""Every page passes axe-core's WCAG 2.0/2.1/2.2 A and AA rules, in the states people see it in.

One test per row of PAGES: arrange the data, sign in as the row's role, open
the page in Debian's Chromium (for a live page, from a real daphne, waiting
until each socket has had its first frame), bring it into its state (a form
sent with errors), run axe (tests/e2e/axe.py) and fail with every violation:
rule, impact and the selectors of the elements.

test_every_page_route_is_checked_or_excluded_with_a_reason walks the URL
resolver: a route is either in PAGES or in EXCLUDED with why, so a new page
cannot slip past. Adding a page is one row of PAGES (an arrange function when
it needs data).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta

import pytest
from django.contrib.auth.models import AnonymousUser
from django.core.management import call_command
from django.test import Client, RequestFactory
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone
from playwright.sync_api import Page, Route, WebSocket, expect
from waffle.models import Switch

from accounts.models import User
from accounts.roles import Actor
from kitchen.models import Ticket
from kitchen.services import ticket_move
from menu.models import Ingredient, MenuItem
from orders.coupons.models import Coupon
from orders.floor.links import table_link_token
from orders.floor.models import Table
from orders.floor.services import table_retire
from orders.models import Order, OrderStatus, Tab
from orders.online_ordering import SWITCH
from orders.pricing import CartLine
from orders.services import OrderDetails, order_place, order_transition
from orders.tabs.services import tab_round_add, tab_settle
from restaurant.error_views import error_response
from tests.e2e.axe import Allowed, axe_script, axe_violations
from tests.harness import daphne as daphne_harness

pytestmark = [pytest.mark.browser, pytest.mark.postgres, pytest.mark.redis]

daphne_instance = daphne_harness.daphne_instance

TILL = Actor.system("test-till")
VIEWPORT = {"width": 1280, "height": 900}
DEMO_EMAIL = {
    "customer": "customer@brigade.example",
    "waiter": "waiter@brigade.example",
    "chef": "chef@brigade.example",
    "manager": "manager@brigade.example",
}
SETTLE_TIMEOUT_MS = 10_000


# ---------------------------------------------------------------- arranging the data


@dataclass
class Given:
    """What a row's arrange function may use: the demo restaurant, and a place to note what it made."""

    settings: object

    def user(self, role: str) -> User:
        return User.objects.get(email=DEMO_EMAIL[role])

    def actor(self, role: str) -> Actor:
        return Actor.for_user(self.user(role))

    def order(
        self, *, status: str = OrderStatus.PAID, customer: str | None = None, dine_in: bool = False
    ) -> Order:
        bread = MenuItem.objects.get(name="Garlic Bread")
        pizza = MenuItem.objects.get(name="Margherita Pizza")
        actor = Actor.for_user(self.user(customer)) if customer else Actor.guest()
        table = Table.objects.in_service().first() if dine_in else None
        order, _ = order_place(
            lines=[CartLine(bread.pk, 2), CartLine(pizza.pk, 1)],
            details=OrderDetails(
                order_type="dine_in" if table else "pickup",
                table_number=table.label if table else "",
                contact_name="Grace Guest",
                contact_email="grace@example.test",
                special_instructions="No pickles, please.",
            ),
            actor=actor,
        )
        if status == OrderStatus.AWAITING_PAYMENT:
            return order
        if status == OrderStatus.CANCELLED:
            return order_transition(order=order, to_status=status, actor=self.actor("manager"))
        order = order_transition(order=order, to_status=OrderStatus.PAID, actor=TILL)
        if status in (OrderStatus.READY, OrderStatus.COMPLETED):
            # The chef bumps every ticket; the order follows to ready.
            for ticket in Ticket.objects.filter(order=order):
                ticket_move(
                    ticket_id=ticket.pk,
                    move="bump",
                    actor=self.actor("chef"),
                    expected_version=ticket.version,
                )
            order.refresh_from_db()
        if status == OrderStatus.COMPLETED:
            order = order_transition(order=order, to_status=status, actor=self.actor("manager"))
        return order


def _path(path: str) -> Callable[[Given], str]:
    return lambda given: path


def _order_page(status: str) -> Callable[[Given], str]:
    return lambda given: given.order(status=status).get_absolute_url()


def _my_orders(given: Given) -> str:
    given.order(status=OrderStatus.PAID, customer="customer")
    given.order(status=OrderStatus.COMPLETED, customer="customer")
    return "/orders/"


def _tickets_on_the_board(given: Given) -> None:
    given.order(status=OrderStatus.PAID)
    cooking = given.order(status=OrderStatus.PAID)
    for ticket in Ticket.objects.filter(order=cooking):
        ticket_move(
            ticket_id=ticket.pk, move="start", actor=given.actor("chef"), expected_version=ticket.version
        )
    bumped = given.order(status=OrderStatus.PAID)
    ticket = Ticket.objects.filter(order=bumped).first()
    if ticket is not None:
        ticket_move(
            ticket_id=ticket.pk, move="bump", actor=given.actor("chef"), expected_version=ticket.version
        )
    # One waiting long enough to show as late.
    Ticket.objects.filter(order=cooking).update(created_at=timezone.now() - timedelta(minutes=40))


def _expo(given: Given) -> str:
    _tickets_on_the_board(given)
    return "/kitchen/"


def _station(given: Given) -> str:
    _tickets_on_the_board(given)
    station = Ticket.objects.order_by("station__sort_order").values_list("station__slug", flat=True).first()
    return f"/kitchen/{station}/"


def _ordering_closed(given: Given) -> str:
    # A manager turned the online_ordering switch off (django-waffle, in admin).
    Switch.objects.update_or_create(name=SWITCH, defaults={"active": False})
    return "/checkout/"


def _floor(given: Given) -> str:
    given.order(status=OrderStatus.READY, dine_in=True)
    given.order(status=OrderStatus.PAID, dine_in=True)
    given.order(status=OrderStatus.READY)
    return "/floor/"


def _expo_ready(given: Given) -> str:
    given.order(status=OrderStatus.READY)
    given.order(status=OrderStatus.PAID, dine_in=True)
    return "/kitchen/"


def _tab(given: Given, *, rounds: int = 2) -> Tab:
    """A waiter's table with its rounds on an open tab, one of them cooking."""
    waiter = given.actor("waiter")
    table = Table.objects.in_service().order_by("pk").first()
    pizza = MenuItem.objects.get(name="Margherita Pizza")
    tab = None
    for number in range(rounds):
        order, _ = order_place(
            lines=[CartLine(pizza.pk, number + 1)],
            details=OrderDetails(
                order_type="dine_in",
                table_number=table.label,
                contact_name=f"Table {table.label}",
                contact_email="table@example.test",
            ),
            actor=waiter,
        )
        tab = tab_round_add(order=order, actor=waiter)
    assert tab is not None
    return tab


def _tab_bill(given: Given) -> str:
    return reverse("orders:tab_bill", kwargs={"tab_id": _tab(given).pk})


def _paid_tab_bill(given: Given) -> str:
    tab = _tab(given)
    tab.refresh_from_db()
    tab_settle(tab_id=tab.pk, method="card", expected_version=tab.version, actor=given.actor("waiter"))
    return reverse("orders:tab_bill", kwargs={"tab_id": tab.pk})


def _tabs_open(given: Given) -> str:
    _tab(given)
    return reverse("orders:tabs_open")


def _floor_with_a_tab(given: Given) -> str:
    _tab(given)
    given.order(status=OrderStatus.READY)
    return "/floor/"


def _table_link(given: Given) -> str:
    return f"/t/{table_link_token(Table.objects.in_service().order_by('pk').first())}/"


def _retired_table_link(given: Given) -> str:
    table = Table.objects.in_service().order_by("pk").first()
    token = table_link_token(table)
    table_retire(table_ids=[table.pk], now=timezone.now())
    return f"/t/{token}/"


def _admin_page(model: str, page: str, obj: Callable[[Given], object]) -> Callable[[Given], str]:
    return lambda given: f"/admin/{model}/{obj(given).pk}/{page}/"  # type: ignore[attr-defined]


def _admin_change(model: str, obj: Callable[[Given], object]) -> Callable[[Given], str]:
    return _admin_page(model, "change", obj)


def _admin_orders(given: Given) -> str:
    _floor(given)
    return "/admin/orders/order/"


def _inventory_report(given: Given) -> str:
    given.order(status=OrderStatus.COMPLETED)
    call_command("inventory_nightly", verbosity=0)
    from orders.inventory.models import InventoryReport

    return f"/admin/orders/inventoryreport/{InventoryReport.objects.latest('pk').pk}/change/"


# ---------------------------------------------------------------- bringing a page into its state


def _send_empty(button: str) -> Callable[[Page], None]:
    def send(page: Page) -> None:
        page.get_by_role("button", name=re.compile(button, re.I)).first.click()
        page.wait_for_load_state()

    return send


def _add_to_cart_and_open_cart(page: Page) -> None:
    page.get_by_role("button", name="Add to cart").click()
    expect(page.get_by_role("status")).to_contain_text("to your cart")
    page.goto(page.url.split("/menu/")[0] + "/cart/")


def _to_checkout(page: Page) -> None:
    _add_to_cart_and_open_cart(page)
    page.get_by_role("link", name="Check out").click()
    expect(page.get_by_role("heading", name="Checkout", level=1)).to_be_visible()


def _checkout_with_errors(page: Page) -> None:
    _to_checkout(page)
    page.get_by_role("radio", name="Delivery").check()
    page.get_by_role("textbox", name="Email", exact=True).fill("not an address")
    # The browser's own checks would stop the form before the server's.
    page.locator("form").evaluate_all("forms => forms.forEach(f => f.noValidate = true)")
    page.get_by_role("button", name=re.compile(r"^Place order")).click()
    expect(page.locator(".errors, [role=alert]").first).to_be_visible()


def _to_sandbox_payment(page: Page) -> None:
    page.get_by_role("button", name=re.compile(r"^Pay")).first.click()
    expect(page.get_by_role("note").filter(has_text="TEST PAYMENTS")).to_be_visible()


def _too_many(page: Page) -> None:
    # Wrong passwords until the sign-in limiter (SIGN_IN_RATE_PER_IP) answers its 429 page.
    heading = page.get_by_role("heading", level=1)
    for _ in range(20):
        if heading.inner_text() == "Too many attempts":
            return
        page.get_by_role("textbox", name=re.compile("Email|Login", re.I)).fill("nobody@example.test")
        page.get_by_label("Password").fill("not the password")
        page.get_by_role("button", name=re.compile("^Sign in", re.I)).click()
        page.wait_for_load_state()
    expect(heading).to_have_text("Too many attempts")


def _admin_action(action: str) -> Callable[[Page], None]:
    def run(page: Page) -> None:
        page.locator("input.action-select").first.check()
        page.locator("select[name=action]").select_option(action)
        page.get_by_role("button", name="Go").click()
        # The action's own form, not the changelist again.
        expect(page.locator("input[name=apply]")).to_be_attached()

    return run


def _admin_save_with_errors(page: Page) -> None:
    for box in page.locator("form input[type=text][required], form input[type=number][required]").all():
        box.fill("")
    page.locator("form").evaluate_all("forms => forms.forEach(f => f.noValidate = true)")
    page.locator("input[name=_save]").click()
    expect(page.locator(".errornote")).to_be_visible()


# ---------------------------------------------------------------- the pages


@dataclass(frozen=True)
class AxePage:
    """One page in one state: the route it is (URL name), who opens it, how it gets there."""

    route: str
    state: str
    arrange: Callable[[Given], str]  # makes the data; returns the path to open
    role: str | None = None  # a demo user (seed_demo), or None for a guest
    then: Callable[[Page], None] | None = None  # brings the page into its state
    live: bool = False  # opens a socket: served by daphne, checked once its sockets had a frame
    settings: dict[str, object] = field(default_factory=dict)
    status: int | None = None  # the answer expected when it is not 200
    allowed: tuple[Allowed, ...] = ()

    @property
    def id(self) -> str:
        return f"{self.route}[{self.state}]"


PAGES: list[AxePage] = [
    # Customers
    AxePage("menu:index", "guest", _path("/")),
    AxePage("menu:menu", "signed-in", _path("/menu/"), role="customer"),
    AxePage("menu:item", "with-choices", _path("/menu/classic-burger/")),
    AxePage("menu:item", "sold-out", _path("/menu/lobster-roll/")),
    AxePage("orders:cart", "empty", _path("/cart/")),
    AxePage("orders:cart", "with-lines", _path("/menu/margherita-pizza/"), then=_add_to_cart_and_open_cart),
    AxePage("orders:checkout", "form", _path("/menu/margherita-pizza/"), then=_to_checkout),
    AxePage("orders:checkout", "with-errors", _path("/menu/margherita-pizza/"), then=_checkout_with_errors),
    AxePage("orders:detail", "awaiting-payment", _order_page(OrderStatus.AWAITING_PAYMENT), live=True),
    AxePage("orders:detail", "paid", _order_page(OrderStatus.PAID), live=True),
    AxePage("orders:detail", "ready", _order_page(OrderStatus.READY), live=True),
    AxePage("orders:detail", "completed", _order_page(OrderStatus.COMPLETED), live=True),
    AxePage("orders:detail", "cancelled", _order_page(OrderStatus.CANCELLED), live=True),
    AxePage(
        "orders:sandbox_checkout",
        "pay",
        _order_page(OrderStatus.AWAITING_PAYMENT),
        then=_to_sandbox_payment,
        live=True,  # from the live order page
    ),
    AxePage("orders:mine", "empty", _path("/orders/"), role="customer"),
    AxePage("orders:mine", "with-orders", _my_orders, role="customer"),
    AxePage("orders:table_link", "menu-at-the-table", _table_link),
    AxePage("orders:table_link", "retired", _retired_table_link, status=410),
    AxePage("account_login", "form", _path("/accounts/login/")),
    AxePage("account_login", "with-errors", _path("/accounts/login/"), then=_send_empty("^Sign in")),
    AxePage("account_signup", "form", _path("/accounts/signup/")),
    AxePage("account_signup", "with-errors", _path("/accounts/signup/"), then=_send_empty("^Sign up")),
    AxePage("account_logout", "confirm", _path("/accounts/logout/"), role="customer"),
    AxePage("account_reset_password", "form", _path("/accounts/password/reset/")),
    AxePage("account_reset_password_done", "sent", _path("/accounts/password/reset/done/")),
    AxePage("account_profile:index", "profile", _path("/account/"), role="customer"),
    # Error pages, as the site answers them
    AxePage("403", "customer-at-the-kitchen", _path("/kitchen/"), role="customer", status=403),
    AxePage("404", "no-such-item", _path("/menu/no-such-item/"), status=404),
    AxePage("429", "sign-in-too-often", _path("/accounts/login/"), then=_too_many),
    AxePage("503", "ordering-closed", _ordering_closed, status=503),
    # Staff
    AxePage("kitchen:board", "expo-empty", _path("/kitchen/"), role="chef", live=True),
    AxePage("kitchen:board", "expo-with-tickets", _expo, role="chef", live=True),
    AxePage("kitchen:station", "with-tickets", _station, role="chef", live=True),
    AxePage("kitchen:board", "expo-ready-at-the-pass", _expo_ready, role="chef", live=True),
    AxePage("orders:floor", "empty", _path("/floor/"), role="waiter", live=True),
    AxePage("orders:floor", "with-orders", _floor, role="waiter", live=True),
    AxePage("orders:floor", "with-a-tab", _floor_with_a_tab, role="waiter", live=True),
    AxePage("orders:tabs_open", "open-tabs", _tabs_open, role="waiter"),
    AxePage("orders:tab_bill", "open", _tab_bill, role="waiter"),
    AxePage("orders:tab_bill", "paid", _paid_tab_bill, role="waiter"),
    # Django admin, for managers
    AxePage("admin:index", "index", _path("/admin/"), role="manager"),
    AxePage("admin:password_change", "form", _path("/admin/password_change/"), role="manager"),
    AxePage("admin:password_change_done", "done", _path("/admin/password_change/done/"), role="manager"),
    AxePage("admin:app_list", "orders", _path("/admin/orders/"), role="manager"),
    AxePage("admin:orders_order_changelist", "with-orders", _admin_orders, role="manager"),
    AxePage(
        "admin:orders_order_changelist",
        "cancel-form",
        _admin_orders,
        role="manager",
        then=_admin_action("cancel_orders"),
    ),
    AxePage(
        "admin:orders_order_change",
        "paid-order",
        _admin_change("orders/order", lambda g: g.order(status=OrderStatus.PAID)),
        role="manager",
    ),
    AxePage("admin:menu_menuitem_changelist", "demo-menu", _path("/admin/menu/menuitem/"), role="manager"),
    AxePage(
        "admin:menu_menuitem_change",
        "burger",
        _admin_change("menu/menuitem", lambda g: MenuItem.objects.get(name="Classic Burger")),
        role="manager",
    ),
    AxePage(
        "admin:menu_menuitem_add",
        "with-errors",
        _path("/admin/menu/menuitem/add/"),
        role="manager",
        then=_admin_save_with_errors,
    ),
    AxePage("admin:menu_ingredient_changelist", "pantry", _path("/admin/menu/ingredient/"), role="manager"),
    AxePage(
        "admin:menu_ingredient_changelist",
        "stock-movement-form",
        _path("/admin/menu/ingredient/"),
        role="manager",
        then=_admin_action("record_delivery"),
    ),
    AxePage(
        "admin:menu_ingredient_change",
        "flour",
        _admin_change("menu/ingredient", lambda g: Ingredient.objects.order_by("pk").first()),
        role="manager",
    ),
    AxePage(
        "admin:orders_coupon_delete",
        "confirm",
        _admin_page("orders/coupon", "delete", lambda g: Coupon.objects.order_by("pk").first()),
        role="manager",
    ),
    AxePage(
        "admin:menu_menuitem_history",
        "burger",
        _admin_page("menu/menuitem", "history", lambda g: MenuItem.objects.get(name="Classic Burger")),
        role="manager",
    ),
    AxePage("admin:orders_table_changelist", "tables", _path("/admin/orders/table/"), role="manager"),
    AxePage(
        "admin:orders_table_qr_sheet", "every-area", _path("/admin/orders/table/qr-sheet/"), role="manager"
    ),
    AxePage("admin:orders_inventoryreport_change", "nightly", _inventory_report, role="manager"),
    AxePage("admin:accounts_user_changelist", "staff", _path("/admin/accounts/user/"), role="manager"),
    AxePage("admin:kitchen_station_changelist", "stations", _path("/admin/kitchen/station/"), role="manager"),
    AxePage("admin:orders_coupon_changelist", "coupons", _path("/admin/orders/coupon/"), role="manager"),
]


@pytest.fixture(scope="module")
def axe_js() -> str:
    return axe_script()


@pytest.fixture
def given(settings) -> Iterator[Given]:  # type: ignore[no-untyped-def]
    call_command("seed_demo", verbosity=0)
    call_command("seed_demo_stations", verbosity=0)
    call_command("seed_demo_tables", verbosity=0)
    call_command("seed_demo_coupons", verbosity=0)
    yield Given(settings=settings)


def _sign_in(page: Page, base_url: str, user: User) -> None:
    session = Client()
    session.force_login(user, backend="django.contrib.auth.backends.ModelBackend")
    page.context.add_cookies(
        [{"name": "sessionid", "value": session.cookies["sessionid"].value, "url": base_url}]
    )


def _settle(page: Page, frames: dict[object, int], row: AxePage) -> None:
    """Waits until the page is quiet and every socket it opened has had a frame (its snapshot).

    axe then sees the page as people do once it is live, not the markup the
    server sent before the first snapshot redrew it.
    """
    page.wait_for_load_state("networkidle")
    waited = 0
    while frames and not all(frames.values()) and waited < SETTLE_TIMEOUT_MS:
        page.wait_for_timeout(100)
        waited += 100
    assert all(frames.values()), (
        f"{row.id}: a socket the page opened had no frame within {SETTLE_TIMEOUT_MS} ms"
        + ("" if row.live else " (a live page: mark its row live=True, to be served by daphne)")
    )
    if row.live:
        assert frames, f"{row.id} is marked live but opened no socket"
    # The frame's handlers redraw the page in the same task; one more turn for any that defer.
    page.wait_for_timeout(100)


@pytest.mark.parametrize("row", PAGES, ids=[row.id for row in PAGES])
def test_page_has_no_wcag_violation(
    row: AxePage, given: Given, settings, live_server, daphne_instance, open_page, axe_js
) -> None:  # type: ignore[no-untyped-def]
    # Given the page's data, and its settings
    for name, value in row.settings.items():
        current = getattr(settings, name)
        setattr(settings, name, {**current, **value} if isinstance(value, dict) else value)
    path = row.arrange(given)
    base_url = daphne_instance().url if row.live else live_server.url
    page, _ = open_page(viewport=VIEWPORT)
    # The page's own answer is checked below (a form with errors is a 400);
    # a stylesheet, script or image that fails is a failure of any row.
    broken: list[str] = []
    page.on(
        "response",
        lambda r: (
            broken.append(f"{r.status} {r.url}")
            if r.status >= 400 and r.request.resource_type != "document"
            else None
        ),
    )
    frames: dict[object, int] = {}
    page.on("websocket", lambda ws: _count_frames(frames, ws))
    if row.role:
        _sign_in(page, base_url, given.user(row.role))

    # When it is opened and brought into its state
    response = page.goto(base_url + path)
    assert response is not None
    if row.then is None:
        assert response.status == (row.status or 200), f"{path} answered {response.status}"
    else:
        row.then(page)
    _settle(page, frames, row)

    # Then axe finds nothing
    violations = axe_violations(page, axe_js, row.allowed)
    assert not violations, f"{row.id} at {page.url}:\n" + "\n".join(v.line() for v in violations)
    assert broken == []


def _count_frames(frames: dict[object, int], ws: WebSocket) -> None:
    frames[ws] = 0
    ws.on("framereceived", lambda _: frames.__setitem__(ws, frames[ws] + 1))


def test_server_error_pages_have_no_wcag_violation(live_server, open_page, axe_js) -> None:  # type: ignore[no-untyped-def]
    # A database outage (503) or a crash (500) cannot be staged inside the
    # live server's thread; the browser is given exactly what error_response
    # answers for them, on the site's address so its stylesheet loads.
    request = RequestFactory().get("/menu/", HTTP_ACCEPT="text/html")
    request.user = AnonymousUser()
    for status in (500, 503):
        body = error_response(request, status).content
        page, broken = open_page(viewport=VIEWPORT)
        page.route(live_server.url + "/error-page", _answer_with(body))
        page.goto(live_server.url + "/error-page")
        page.wait_for_load_state("networkidle")
        violations = axe_violations(page, axe_js)
        assert not violations, f"{status}:\n" + "\n".join(v.line() for v in violations)
        assert broken == []


def test_axe_finds_what_it_should_on_a_page_built_to_fail(live_server, open_page, axe_js) -> None:  # type: ignore[no-untyped-def]
    # Proves the harness is not vacuous: the same run, on a page with known faults.
    body = (
        b"<!doctype html><html><head><title>Broken</title></head><body>"
        b"<input type=text><button></button>"
        b"<p style='color:#bbb;background:#fff'>Faint text</p></body></html>"
    )
    page, _ = open_page(viewport=VIEWPORT)
    page.route(live_server.url + "/broken-page", _answer_with(body))
    page.goto(live_server.url + "/broken-page")
    found = {violation.rule for violation in axe_violations(page, axe_js)}
    assert {"label", "button-name", "color-contrast", "html-has-lang"} <= found
    allowed = (Allowed("button-name", "button", "shows that one rule on one element can be let through"),)
    assert "button-name" not in {v.rule for v in axe_violations(page, axe_js, allowed)}


def _answer_with(body: bytes) -> Callable[[Route], None]:
    def answer(route: Route) -> None:
        route.fulfill(status=200, content_type="text/html; charset=utf-8", body=body)

    return answer


# ---------------------------------------------------------------- coverage


# Routes that are not pages people look at, each with why. Admin's per-model
# routes are matched by ADMIN_FAMILIES below, not listed one by one.
EXCLUDED: dict[str, str] = {
    "healthz": "liveness probe, plain text for the load balancer",
    "readyz": "readiness probe, JSON",
    "api:*": "the JSON REST API",
    "api:docs": "drf-spectacular's Swagger UI, for developers; not a customer or staff page",
    "orders:payment_webhook": "payment provider webhook (POST, JSON)",
    "orders:cart_add": "POST-only form target; answers by redirect",
    "orders:cart_update": "POST-only form target; answers by redirect",
    "orders:cart_remove": "POST-only form target; answers by redirect",
    "orders:checkout_coupon": "POST-only form target; answers by redirect",
    "orders:checkout_coupon_remove": "POST-only form target; answers by redirect",
    "orders:cancel": "POST-only form target; answers by redirect",
    "orders:pay": "POST-only: starts a payment and redirects to the provider (orders:sandbox_checkout)",
    "orders:floor_action": "POST-only form target of the floor page",
    "orders:tab_pay": "POST-only form target of the bill (orders:tab_bill)",
    "orders:tab_pay_online": "POST-only: starts the tab's payment and redirects to the provider",
    "orders:tab_round_remove": "POST-only form target of the bill (orders:tab_bill)",
    "orders:again": "POST-only form target of My orders (orders:mine); answers by redirect to the cart",
    "kitchen:order_hand_over": "POST-only form target of expo (kitchen:board)",
    "kitchen:ticket_move": "POST-only form target of the board",
    "account_profile:address_add": "POST-only target of the address form on account_profile:index",
    "account_profile:address_edit": "the address form of account_profile:index, one address at a time",
    "account_profile:address_delete": "POST-only",
    "account_profile:address_default": "POST-only",
    "<media>": "uploaded images (downloads), served only in development",
    "admin:login": "redirects to allauth's sign-in (account_login)",
    "admin:logout": "POST-only; answers by redirect",
    "admin:autocomplete": "JSON for admin's select boxes",
    "admin:jsi18n": "JavaScript catalogue",
    "admin:view_on_site": "redirects to the object's page on the site",
    "<admin catch-all>": "answers 404 for unknown admin paths (the admin's 404)",
    "<admin object redirect>": "redirects <model>/<id>/ to <model>/<id>/change/",
    # allauth: doors this site does not open, or that redirect
    "account_reauthenticate": "same allauth form layout as account_login; needs a signed-in session",
    "account_inactive": "allauth's message page, same layout as account_reset_password_done",
    "account_email": "e-mail management: same allauth form layout as account_reset_password",
    "account_email_verification_sent": "allauth's message page, same layout as account_reset_password_done",
    "account_change_password": "same allauth form layout as account_reset_password",
    "account_set_password": "redirects: every account here has a password",
    "account_confirm_login_code": "login by code is off (ACCOUNT_LOGIN_BY_CODE_ENABLED)",
    "account_confirm_email": "reached by a mailed key; same message layout as account_reset_password_done",
    "account_reset_password_from_key": "reached by a mailed key; same form layout as account_reset_password",
    "account_reset_password_from_key_done": "message page, same layout as account_reset_password_done",
    "mfa_*": "second-factor pages: same allauth form layout as account_login",
    "socialaccount_*": "social sign-in pages: redirects, or the same allauth layout as account_login",
    "<social legacy>": "allauth's old /accounts/social/ paths: redirects to /accounts/3rdparty/",
    "google_*": "redirect to Google and back",
    "github_*": "redirect to GitHub and back",
    "openid_connect_*": "redirect to the OpenID Connect provider and back",
}

# Admin's per-model pages share one template each (change_list.html,
# change_form.html, delete_confirmation.html, object_history.html); PAGES
# checks them on the models managers use most. The other models' pages
# differ only by their columns and fields.
ADMIN_FAMILIES = {
    "changelist": "admin's change_list.html, checked on orders, menu items, ingredients, tables",
    "change": "admin's change_form.html, checked on an order, a menu item, an ingredient",
    "add": "admin's change_form.html, checked on adding a menu item with errors",
    "delete": "admin's delete_confirmation.html, checked on deleting a coupon",
    "history": "admin's object_history.html, checked on a menu item's history",
}


def _routes(resolver: URLResolver, namespace: str = "") -> Iterator[tuple[str, URLPattern]]:
    for entry in resolver.url_patterns:
        if isinstance(entry, URLResolver):
            inner = f"{namespace}:{entry.namespace}".strip(":") if entry.namespace else namespace
            yield from _routes(entry, inner)
        elif entry.name:
            yield (f"{namespace}:{entry.name}" if namespace else entry.name), entry
        else:
            yield _unnamed(namespace, entry), entry


def _unnamed(namespace: str, entry: URLPattern) -> str:
    route = str(entry.pattern)
    if "media" in route:
        return "<media>"
    if namespace == "admin" and route.startswith("(?P<url>"):
        return "<admin catch-all>"
    if namespace == "admin":
        return "<admin object redirect>"
    if route.startswith("social/"):
        return "<social legacy>"
    return f"<unnamed {route}>"


def _excluded(name: str) -> bool:
    if name in EXCLUDED:
        return True
    if any(key.endswith("*") and name.startswith(key[:-1]) for key in EXCLUDED):
        return True
    if name.startswith("admin:"):
        return name.rsplit("_", 1)[-1] in ADMIN_FAMILIES and name.count("_") >= 2
    return False


def test_every_page_route_is_checked_or_excluded_with_a_reason() -> None:
    checked = {row.route for row in PAGES}
    unaccounted = sorted(
        {name for name, _ in _routes(get_resolver()) if name not in checked and not _excluded(name)}
    )
    assert unaccounted == [], (
        "routes neither checked by axe (add a row to PAGES) nor excluded with a reason (EXCLUDED):\n"
        + "\n".join(unaccounted)
    )


def test_rows_name_routes_that_exist() -> None:
    names = {name for name, _ in _routes(get_resolver())} | {"403", "404", "429", "503"}
    assert sorted({row.route for row in PAGES} - names) == []
