"""Hostile input on every field of every form of every page: a 4xx, or stored and shown escaped.

The forms are discovered, not listed: each page is fetched as the person who
would use it, every <form method="post"> on it is parsed (stdlib html.parser)
for its action and fields, hidden ones and the CSRF token included, and each
field in turn gets each hostile value while the other fields keep the page's
own values (or a plausible one where the page leaves a required field empty).
Every form action also gets JSON where a form is expected.

For every request: never a 500. Where the data is accepted (2xx/3xx), the
pages that show it again (order page, kitchen board, account page, the admin's
order and user pages) must show it as text: the raw markup never appears in any
response, a template expression is never evaluated, and a NUL byte, which
PostgreSQL cannot store in a text column, is never stored (so it must have been
refused with a 4xx, or dropped).
"""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from html.parser import HTMLParser
from urllib.parse import urlencode, urljoin, urlsplit

import pytest
from allauth.account.models import EmailAddress
from django.apps import apps
from django.contrib.auth import HASH_SESSION_KEY, SESSION_KEY
from django.db import models
from django.test import Client
from django.urls import NoReverseMatch, Resolver404, resolve, reverse
from django.utils import timezone

from accounts.models import Address, User
from accounts.roles import Actor
from orders.cart import SessionCart
from orders.models import Order, OrderStatus
from orders.pricing import CartLine
from orders.services import OrderDetails, order_place, order_transition
from orders.state import KITCHEN_STATUSES
from tests.conftest import PASSWORD

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("floor_tables")]

HOSTILE: dict[str, str] = {
    "sql-or": "' OR 1=1; --",
    "sql-drop": '"; DROP TABLE orders_order; --',
    "100kB": "a" * 100_000,
    "control": "\x00\x01\x1b[31m",
    "rtl": "\u202eevil\u202c",
    "script": "<script>alert(1)</script>",
    "template": "{{ 7*7 }}",
    "path": "../../etc/passwd",
    "emoji": "🍔" * 50,
}
# A value with one of these in it must never come back verbatim: shown, it is escaped.
HTML_SPECIAL = set("<>\"'&")
# "{{ 7*7 }}" evaluated by some template engine would leave a bare 49 as a text node.
EVALUATED_TEMPLATE = re.compile(r">\s*49\s*<")

NEW_PASSWORD = "Quiet-otter-lantern-42"
# Fields that only make sense equal to another one: "confirm the password".
TWINS = {"password1": "password2"}
PLAUSIBLE_BY_NAME: dict[str, str] = {
    "label": "Home",
    "street": "1 Harbour Street",
    "city": "Leith",
    "postcode": "EH6 6AA",
    "instructions": "Blue door",
    "quantity": "1",
    "contact_name": "Ada Guest",
    "contact_email": "ada@example.test",
    "contact_phone": "+44 131 555 0100",
    "first_name": "Ada",
    "last_name": "Guest",
    "phone": "+44 131 555 0100",
    "reason": "Changed my mind",
    "password": PASSWORD,
    "oldpassword": PASSWORD,
    "password1": NEW_PASSWORD,
    "password2": NEW_PASSWORD,
}
PLAUSIBLE_BY_TYPE: dict[str, str] = {
    "email": "ada@example.test",
    "number": "1",
    "tel": "+44 131 555 0100",
    "password": PASSWORD,
}

_addresses = itertools.count(1)
_emails = itertools.count(1)


def _next_ip() -> str:
    """A different client address per request, so per-IP limits never hide what a field does."""
    i = next(_addresses)
    return f"10.{(i // 250) % 250}.{i % 250}.1"


def _unique_email() -> str:
    return f"newcomer{next(_emails)}@example.test"


# ---------------------------------------------------------------- reading forms


@dataclass
class Field:
    name: str
    kind: str  # an input type, "select", "textarea" or "button"
    value: str
    checked: bool = False
    disabled: bool = False
    required: bool = False


@dataclass
class Form:
    action: str
    method: str
    fields: list[Field] = field(default_factory=list)

    def names(self) -> list[str]:
        return list(dict.fromkeys(f.name for f in self.fields if f.name))

    def button_names(self) -> set[str]:
        return {f.name for f in self.fields if f.kind == "button" and f.name}


class FormParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.forms: list[Form] = []
        self._form: Form | None = None
        self._select: Field | None = None
        self._options: list[tuple[str | None, bool, list[str]]] = []
        self._textarea: Field | None = None
        self._text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {key: (value if value is not None else "") for key, value in attrs}
        if tag == "form":
            self._form = Form(action=a.get("action", ""), method=a.get("method", "get").lower())
            self.forms.append(self._form)
            return
        if self._form is None:
            return
        common = {"disabled": "disabled" in a, "required": "required" in a}
        name = a.get("name", "")
        if tag == "input":
            kind = a.get("type", "text").lower()
            if kind in {"reset", "button", "file"}:
                return
            if kind in {"submit", "image"}:
                self._form.fields.append(Field(name, "button", a.get("value", ""), **common))
                return
            default = "on" if kind in {"checkbox", "radio"} else ""
            value = a.get("value", default)
            self._form.fields.append(Field(name, kind, value, checked="checked" in a, **common))
        elif tag == "button" and a.get("type", "submit").lower() == "submit":
            self._form.fields.append(Field(name, "button", a.get("value", ""), **common))
        elif tag == "select":
            self._select = Field(name, "select", "", **common)
            self._options = []
        elif tag == "option" and self._select is not None:
            self._options.append((a.get("value"), "selected" in a, []))
        elif tag == "textarea":
            self._textarea = Field(name, "textarea", "", **common)
            self._text = []

    def handle_data(self, data: str) -> None:
        if self._textarea is not None:
            self._text.append(data)
        elif self._select is not None and self._options:
            self._options[-1][2].append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._form = None
        elif tag == "select" and self._select is not None and self._form is not None:
            values = [(value if value is not None else "".join(text).strip(), selected)
                      for value, selected, text in self._options]  # fmt: skip
            chosen = [value for value, selected in values if selected] or [value for value, _ in values[:1]]
            self._select.value = chosen[0] if chosen else ""
            self._form.fields.append(self._select)
            self._select = None
        elif tag == "textarea" and self._textarea is not None and self._form is not None:
            # A newline right after <textarea> is not part of the value.
            self._textarea.value = "".join(self._text).removeprefix("\n")
            self._form.fields.append(self._textarea)
            self._textarea = None


def post_forms(html: str, page_url: str) -> list[Form]:
    parser = FormParser()
    parser.feed(html)
    parser.close()
    forms = [form for form in parser.forms if form.method == "post"]
    for form in forms:
        form.action = urljoin(page_url, form.action or page_url)
    return forms


def form_key(form: Form) -> tuple[str, tuple[str, ...]]:
    """What the form is, whatever object it acts on: its view and its field names."""
    try:
        view = resolve(urlsplit(form.action).path).view_name
    except Resolver404:
        view = urlsplit(form.action).path
    return view, tuple(sorted(form.names()))


def base_data(form: Form, plausible: dict[str, str | Callable[[], str]]) -> dict[str, list[str]]:
    """What a browser would send for this form untouched, with required blanks filled in plausibly."""
    data: dict[str, list[str]] = {}
    checked_radios: set[str] = set()
    default_button_seen = False
    for f in form.fields:
        if f.kind == "button":
            # The form's first submit button is the one Enter presses; only it is sent.
            if not default_button_seen and not f.disabled and f.name:
                data[f.name] = [f.value]
            default_button_seen = True
            continue
        if f.disabled or not f.name:
            continue
        if f.kind == "checkbox":
            if f.checked:
                data.setdefault(f.name, []).append(f.value)
            continue
        if f.kind == "radio":
            # The checked one; else the first choice, as a person choosing would.
            if f.checked:
                data[f.name] = [f.value]
                checked_radios.add(f.name)
            elif f.name not in data:
                data[f.name] = [f.value]
            continue
        value = f.value
        if not value and (f.required or f.name in plausible or f.name in PLAUSIBLE_BY_NAME):
            chosen = plausible.get(f.name) or PLAUSIBLE_BY_NAME.get(f.name) or PLAUSIBLE_BY_TYPE.get(f.kind)
            value = (chosen() if callable(chosen) else chosen) or "Plain text"
        data[f.name] = [value]
    return data


def with_hostile(form: Form, data: dict[str, list[str]], name: str, value: str) -> dict[str, list[str]]:
    sent = dict(data)
    if name in form.button_names():
        # Submit buttons are alternatives: the one pressed is the only one sent.
        for button in form.button_names():
            sent.pop(button, None)
    sent[name] = [value]
    if name in TWINS and TWINS[name] in sent:
        sent[TWINS[name]] = [value]
    return sent


# ---------------------------------------------------------------- the world the pages show


def _profile_pages_exist() -> bool:
    try:
        reverse("account_profile:index")
    except NoReverseMatch:
        return False
    return True


@dataclass
class World:
    actors: object
    menu: object
    order: Order | None = None
    address: Address | None = None
    clients: dict[str, Client] = field(default_factory=dict)

    @property
    def customer(self) -> User:
        return self.actors.customer  # type: ignore[attr-defined]

    def place_order(self, *, customer: User | None, instructions: str = "") -> Order:
        order, _ = order_place(
            lines=[CartLine(self.menu.fries.pk, 2)],  # type: ignore[attr-defined]
            details=OrderDetails(
                order_type="dine_in",
                table_number="7",
                contact_name="Ada Guest",
                contact_email="ada@example.test",
                special_instructions=instructions,
            ),
            actor=Actor.for_user(customer) if customer else Actor.guest(),
        )
        return order

    def pay(self, order: Order) -> Order:
        return order_transition(
            order=order,
            to_status=OrderStatus.PAID,
            actor=Actor.for_user(self.actors.waiter),  # type: ignore[attr-defined]
        )

    def add_address(self, label: str) -> Address:
        return Address.objects.create(
            user=self.customer,
            label=label,
            street="1 Harbour Street",
            city="Leith",
            is_default=not Address.objects.filter(user=self.customer).exists(),
        )


def new_client() -> Client:
    return Client(enforce_csrf_checks=True, raise_request_exception=False)


def signed_in_as(client: Client, user: User | None) -> Client:
    """Signs the client in (again) as `user`, or out for None; undoes what a fuzzed request did."""
    session = client.session
    if user is None:
        if session.get(SESSION_KEY):
            client.logout()
        return client
    user.refresh_from_db()
    if not user.check_password(PASSWORD):
        # A fuzzed "change password" went through: restore it for the next attempts.
        user.set_password(PASSWORD)
        user.save(update_fields=["password"])
    if session.get(SESSION_KEY) != str(user.pk) or session.get(HASH_SESSION_KEY) != (
        user.get_session_auth_hash()
    ):
        client.force_login(user, backend="django.contrib.auth.backends.ModelBackend")
    return client


# ---------------------------------------------------------------- the pages


@dataclass
class Page:
    actor: str | None
    url: Callable[[World, Client], str]
    plausible: dict[str, str | Callable[[], str]] = field(default_factory=dict)
    pay_new_orders: bool = False
    needs_profile: bool = False


def _cart_with_a_line(world: World, client: Client) -> str:
    session = client.session
    cart = SessionCart(session)
    if not len(cart):
        cart.add(CartLine(world.menu.burger.pk, 1, (world.menu.rare.pk,)))  # type: ignore[attr-defined]
        session.save()
    return reverse("orders:cart")


def _checkout(world: World, client: Client) -> str:
    _cart_with_a_line(world, client)
    return reverse("orders:checkout")


def _order_with_cancel_form(world: World, client: Client) -> str:
    assert world.order is not None
    world.order.refresh_from_db()
    if not world.order.can_customer_cancel():
        world.order = world.place_order(customer=world.customer)
    return world.order.get_absolute_url()


def _board_with_a_paid_order(world: World, client: Client) -> str:
    if not Order.objects.filter(status__in=KITCHEN_STATUSES).exists():
        world.pay(world.place_order(customer=None, instructions="No onions"))
    return reverse("kitchen:board")


def _account_page(world: World, client: Client) -> str:
    from accounts.services import MAX_ADDRESSES_PER_USER

    # Keep a default and a non-default address (their forms), and room to add one more.
    addresses = Address.objects.filter(user=world.customer)
    while addresses.count() < 2:
        world.add_address(f"Spare {addresses.count()}")
    extra = addresses.count() - (MAX_ADDRESSES_PER_USER - 1)
    if extra > 0:
        spare = addresses.filter(is_default=False).exclude(pk=getattr(world.address, "pk", None))
        Address.objects.filter(pk__in=list(spare.values_list("pk", flat=True)[:extra])).delete()
    return reverse("account_profile:index")


def _address_page(world: World, client: Client) -> str:
    if world.address is None or not Address.objects.filter(pk=world.address.pk).exists():
        world.address = world.add_address("Work")
    return reverse("account_profile:address_edit", args=[world.address.pk])


PAGES: dict[str, Page] = {
    "menu-item": Page(None, lambda w, c: reverse("menu:item", args=[w.menu.burger.slug])),  # type: ignore[attr-defined]
    "cart": Page("customer", _cart_with_a_line),
    "checkout": Page("customer", _checkout, pay_new_orders=True),
    "order": Page("customer", _order_with_cancel_form),
    "kitchen-board": Page("chef", _board_with_a_paid_order),
    "sign-in": Page(None, lambda w, c: reverse("account_login"), {"login": "carla@example.test"}),
    "sign-up": Page(None, lambda w, c: reverse("account_signup"), {"email": _unique_email}),
    "password-reset": Page(
        None, lambda w, c: reverse("account_reset_password"), {"email": "carla@example.test"}
    ),
    "password-change": Page("customer", lambda w, c: reverse("account_change_password")),
    "email": Page("customer", lambda w, c: reverse("account_email"), {"email": _unique_email}),
    "account": Page("customer", _account_page, needs_profile=True),
    "address": Page("customer", _address_page, needs_profile=True),
}


# ---------------------------------------------------------------- checks


@dataclass
class Findings:
    failures: list[str] = field(default_factory=list)
    requests: int = 0
    accepted: dict[str, int] = field(default_factory=dict)
    stored: dict[str, set[str]] = field(default_factory=dict)

    def fail(self, message: str) -> None:
        if message not in self.failures:
            self.failures.append(message)


def _exception_of(response) -> str:  # type: ignore[no-untyped-def]
    exc_info = getattr(response, "exc_info", None)
    if not exc_info:
        return ""
    return f": {exc_info[0].__name__}: {str(exc_info[1])[:200]}"


def check_body(findings: Findings, where: str, body: str, kind: str, value: str, stored: bool) -> None:
    if HTML_SPECIAL & set(value) and value in body:
        findings.fail(f"UNESCAPED {kind} value {value[:40]!r} in {where}")
    if stored and kind == "template" and EVALUATED_TEMPLATE.search(body):
        findings.fail(f"EVALUATED template value {value!r} (a bare 49) in {where}")


def text_columns() -> list[tuple[type[models.Model], list[str]]]:
    found = []
    for model in apps.get_models():
        names = [
            f.name
            for f in model._meta.get_fields()
            if isinstance(f, models.CharField | models.TextField) and f.concrete and not f.is_relation
        ]
        if names and model._meta.managed:
            found.append((model, names))
    return found


def stored_in(value: str) -> list[str]:
    """The text columns that now hold `value`.

    The database is asked for the value without its NUL bytes (SQLite's LIKE
    stops at a NUL, PostgreSQL cannot take one as a parameter); Python then
    checks the whole value. The probe is also cut short: SQLite refuses LIKE
    patterns over 50 000 bytes.
    """
    probe = value.replace("\x00", "")[:1000]
    hits = []
    for model, names in text_columns():
        query = models.Q()
        for name in names:
            query |= models.Q(**{f"{name}__contains": probe})
        for row in model._default_manager.filter(query).values_list(*names):
            hits += [f"{model._meta.label}.{name}" for name, text in zip(names, row, strict=True)
                     if isinstance(text, str) and value in text]  # fmt: skip
    return sorted(set(hits))


def display_pages(world: World, since: datetime) -> list[tuple[str, str]]:
    """(who, url) for every page that shows back what forms store: the orders the request touched."""
    pages: list[tuple[str, str]] = [("chef", reverse("kitchen:board"))]
    for order in Order.objects.filter(updated_at__gte=since):
        pages += [
            ("manager", order.get_absolute_url()),
            ("manager", reverse("admin:orders_order_change", args=[order.pk])),
        ]
    pages.append(("manager", reverse("admin:accounts_user_change", args=[world.customer.pk])))
    if _profile_pages_exist():
        pages.append(("customer", reverse("account_profile:index")))
    return pages


def check_display(
    findings: Findings, world: World, kind: str, value: str, context: str, since: datetime
) -> None:
    for who, url in display_pages(world, since):
        client = world.clients.setdefault(f"display-{who}", new_client())
        signed_in_as(client, getattr(world.actors, who))
        response = client.get(url)
        findings.requests += 1
        where = f"{url} as {who} (after {context})"
        if response.status_code >= 500:
            findings.fail(f"500 showing {where}{_exception_of(response)}")
            continue
        check_body(findings, where, response.content.decode(errors="replace"), kind, value, stored=True)


# ---------------------------------------------------------------- the test


class PageSession:
    """One client on one page: fetches it when needed and finds a form again after a change."""

    def __init__(self, page: Page, world: World, findings: Findings) -> None:
        self.page, self.world, self.findings = page, world, findings
        self.client = new_client()
        self.user: User | None = getattr(world.actors, page.actor) if page.actor else None
        self._forms: dict[tuple[str, tuple[str, ...], int], Form] | None = None
        self.url = ""

    def forms(self) -> dict[tuple[str, tuple[str, ...], int], Form]:
        if self._forms is None:
            signed_in_as(self.client, self.user)
            self.url = self.page.url(self.world, self.client)
            response = self.client.get(self.url)
            self.findings.requests += 1
            assert response.status_code == 200, f"GET {self.url}: {response.status_code}"
            found: dict[tuple[str, tuple[str, ...], int], Form] = {}
            seen: dict[tuple[str, tuple[str, ...]], int] = {}
            for form in post_forms(response.content.decode(), "http://testserver" + self.url):
                key = form_key(form)
                seen[key] = seen.get(key, -1) + 1
                found[(*key, seen[key])] = form
            self._forms = found
        return self._forms

    def form(self, key: tuple[str, tuple[str, ...], int]) -> Form:
        form = self.forms().get(key)
        assert form is not None, f"{self.url} no longer has the form {key}: found {list(self.forms())}"
        return form

    def send(self, form: Form, kind: str, label: str, value: str, **request) -> None:  # type: ignore[no-untyped-def]
        since = timezone.now()
        response = self.client.post(form.action, REMOTE_ADDR=_next_ip(), **request)
        self.findings.requests += 1
        status = response.status_code
        where = f"POST {urlsplit(form.action).path} field {label} value {kind} (page {self.url})"
        if status >= 500:
            self.findings.fail(f"{status} from {where}{_exception_of(response)}")
        body = response.content.decode(errors="replace")
        accepted = status < 400
        check_body(self.findings, where, body, kind, value, stored=accepted)
        if not 400 <= status < 500:
            self._forms = None  # the page may have changed: fetch it afresh next time
        if not accepted:
            return
        self.findings.accepted[kind] = self.findings.accepted.get(kind, 0) + 1
        if 300 <= status < 400 and urlsplit(response["Location"]).netloc in {"", "testserver"}:
            followed = self.client.get(response["Location"])
            self.findings.requests += 1
            if followed.status_code >= 500:
                self.findings.fail(f"{followed.status_code} following {where} to {response['Location']}")
            check_body(
                self.findings, f"{response['Location']} after {where}",
                followed.content.decode(errors="replace"), kind, value, stored=True,
            )  # fmt: skip
        columns = stored_in(value) if value else []
        if not columns:
            return  # refused after all (a form shown again with its errors), or not kept
        self.findings.stored.setdefault(kind, set()).update(columns)
        if "\x00" in value:
            self.findings.fail(
                f"NUL STORED in {', '.join(columns)} by {where}: PostgreSQL cannot store NUL in text, "
                "so there this request is a 500; it must be refused with a 4xx"
            )
        if self.page.pay_new_orders:
            for order in Order.objects.filter(created_at__gte=since, status=OrderStatus.AWAITING_PAYMENT):
                self.world.pay(order)  # so the kitchen board shows what checkout stored
        check_display(self.findings, self.world, kind, value, where, since)


@pytest.fixture
def world(actors, small_menu, settings) -> World:  # type: ignore[no-untyped-def]
    # Per-account and per-user limits would answer 429 after a few attempts and hide
    # what the remaining fields do; per-IP limits stay, and every request comes
    # from its own address instead.
    settings.SIGN_IN_RATE_PER_ACCOUNT = "100000/m"
    settings.ACCOUNT_RATE_LIMITS = {
        **settings.ACCOUNT_RATE_LIMITS,
        "login_failed": "10/m/ip,100000/m/key",
        "reset_password": "20/m/ip,100000/m/key",
        "change_password": "100000/m/user",
        "manage_email": "100000/m/user",
        "reauthenticate": "100000/m/user",
    }
    EmailAddress.objects.create(
        user=actors.customer, email=actors.customer.email, primary=True, verified=True
    )
    world = World(actors=actors, menu=small_menu)
    world.order = world.place_order(customer=actors.customer)
    world.pay(world.place_order(customer=None, instructions="No onions"))
    world.address = world.add_address("Home")
    return world


@pytest.mark.parametrize("name", list(PAGES))
def test_hostile_values_in_every_field_are_refused_or_shown_escaped(name: str, world: World) -> None:
    page = PAGES[name]
    if page.needs_profile and not _profile_pages_exist():
        pytest.skip("no account pages yet: reverse('account_profile:index') does not resolve")
    findings = Findings()
    session = PageSession(page, world, findings)

    keys = list(session.forms())
    assert keys, f"{session.url} has no POST form"
    for key in keys:
        for name_ in session.form(key).names():
            for kind, value in HOSTILE.items():
                form = session.form(key)
                data = with_hostile(form, base_data(form, page.plausible), name_, value)
                session.send(
                    form, kind, name_, value,
                    data=urlencode(data, doseq=True), content_type="application/x-www-form-urlencoded",
                )  # fmt: skip
        # JSON where a form is expected: the form's own values, then the script in every field.
        form = session.form(key)
        as_json = {k: v[0] if len(v) == 1 else v for k, v in base_data(form, page.plausible).items()}
        token = as_json.get("csrfmiddlewaretoken", "")
        session.send(
            form, "json", "(JSON body of the form's values)", "",
            data=json.dumps(as_json), content_type="application/json", HTTP_X_CSRFTOKEN=token,
        )  # fmt: skip
        form = session.form(key)
        token = base_data(form, page.plausible).get("csrfmiddlewaretoken", [""])[0]
        session.send(
            form, "script", "(JSON body, every field)", HOSTILE["script"],
            data=json.dumps(dict.fromkeys(form.names(), HOSTILE["script"])),
            content_type="application/json", HTTP_X_CSRFTOKEN=token,
        )  # fmt: skip

    stored = {kind: sorted(columns) for kind, columns in findings.stored.items()}
    print(f"\n{name}: {findings.requests} requests; accepted: {findings.accepted}; stored: {stored}")
    assert not findings.failures, f"{len(findings.failures)} problem(s) on {name}:\n" + "\n".join(
        findings.failures[:60]
    )
