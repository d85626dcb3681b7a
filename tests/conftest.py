from __future__ import annotations

import fcntl
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.staticfiles.finders import get_finders
from django.contrib.staticfiles.storage import staticfiles_storage
from django.core.cache import cache
from django.core.management import call_command
from django.test import Client

from accounts.models import User
from accounts.roles import Actor
from menu.models import Ingredient, MenuItem, ModifierOption, OptionEffect, OptionRecipeLine, RecipeLine, Unit
from menu.pantry.services import stock_deliver
from orders.floor.models import Table
from restaurant import rate_limit_cache, sessions
from restaurant.sockets import socket_threads_close
from tests.factories import (
    CategoryFactory,
    IngredientFactory,
    MenuItemFactory,
    ModifierGroupFactory,
    ModifierOptionFactory,
    TableFactory,
    UserFactory,
    attach,
)
from tests.harness.processes import Processes, attach_logs, processes_for
from tests.requirements import MARKER_NEEDS, need

# ---------------------------------------------------------------- requirements


def pytest_runtest_setup(item: pytest.Item) -> None:
    for marker, (available, reason) in MARKER_NEEDS.items():
        if item.get_closest_marker(marker):
            need(available(), reason)


def pytest_terminal_summary(terminalreporter, exitstatus, config) -> None:  # type: ignore[no-untyped-def]
    skipped = terminalreporter.stats.get("skipped", [])
    if not skipped:
        return
    terminalreporter.section(f"{len(skipped)} skipped test(s), and why")
    for report in skipped:
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        terminalreporter.line(f"{report.nodeid}: {reason.removeprefix('Skipped: ')}")


# ---------------------------------------------------------------- processes (tests/harness)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> pytest.TestReport:
    report: pytest.TestReport = yield
    attach_logs(item, report)
    return report


@pytest.fixture
def processes(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Processes]:
    """Every process the test starts: stopped when it ends, their logs in its report if it fails."""
    with processes_for(request.node, tmp_path / "processes") as started:
        yield started


@pytest.fixture(scope="session", autouse=True)
def _socket_threads_closed(django_db_setup, django_db_blocker) -> Iterator[None]:  # type: ignore[no-untyped-def]
    # Set up after the test database, so closed before it is dropped: the
    # sockets' threads keep their connections open, as in production.
    yield
    socket_threads_close()


@pytest.fixture(scope="session", autouse=True)
def _static_manifest() -> None:
    # Pages link hashed static names; the manifest must exist before they render,
    # hold every file (an app added) and be newer than ours (pytest run by hand
    # after a pull or an edit, without `make test`'s collectstatic).
    settings.STATIC_ROOT.mkdir(parents=True, exist_ok=True)
    # pytest-xdist's workers share STATIC_ROOT: one collects, the others wait for it.
    with (settings.STATIC_ROOT / ".collecting").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        _collect_static_if_stale(settings.STATIC_ROOT / "staticfiles.json")
    # A worker whose storage read the manifest before it was collected again
    # (a test module touching a static URL when imported) reads it afresh.
    staticfiles_storage._setup()


def _collect_static_if_stale(manifest: Path) -> None:
    if not manifest.exists():
        call_command("collectstatic", "--noinput", verbosity=0)
        return
    collected = json.loads(manifest.read_text())["paths"]
    # collectstatic's own default ignore patterns.
    found = {path for finder in get_finders() for path, _ in finder.list(["CVS", ".*", "*~"])}
    ours = (path for folder in settings.STATICFILES_DIRS for path in Path(folder).rglob("*"))
    if found - collected.keys() or any(path.stat().st_mtime > manifest.stat().st_mtime for path in ours):
        call_command("collectstatic", "--noinput", verbosity=0)


@pytest.fixture(autouse=True)
def _fast_and_isolated(settings, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    cache.clear()
    # What this process remembers of an earlier test's Redis outage stays with that test.
    monkeypatch.setattr(rate_limit_cache, "outage", rate_limit_cache._Outage())
    monkeypatch.setattr(sessions, "_health", sessions._CacheHealth())


@pytest.fixture
def rush_limits_lifted(settings) -> None:  # type: ignore[no-untyped-def]
    """For a test about something else that places many orders from one client:
    the doors' rate limits and the cap on unpaid orders out of the way."""
    settings.RATE_LIMITS = dict.fromkeys(settings.RATE_LIMITS, "1000000/m/ip")
    settings.BRIGADE_MAX_UNPAID_ORDERS_PER_GUEST = 0


# ---------------------------------------------------------------- actors

PASSWORD = "correct-horse-battery"


@dataclass
class Actors:
    """The cast every permission test uses, as healthchecks' alice/bob/charlie."""

    customer: User
    other_customer: User
    waiter: User
    chef: User
    manager: User


@pytest.fixture
def actors(db) -> Actors:  # type: ignore[no-untyped-def]
    return Actors(
        customer=UserFactory(username="carla", role="customer"),
        other_customer=UserFactory(username="otto", role="customer"),
        waiter=UserFactory(username="walt", role="waiter"),
        chef=UserFactory(username="chen", role="chef"),
        manager=UserFactory(username="maya", role="manager"),
    )


def client_for(user: User | None) -> Client:
    client = Client()
    if user is not None:
        client.force_login(user, backend="django.contrib.auth.backends.ModelBackend")
    return client


# ---------------------------------------------------------------- a small menu


@dataclass
class SmallMenu:
    burger: MenuItem  # 12.00; Cooking (exactly 1), Extras (0..2)
    lemonade: MenuItem  # 3.50; Size (exactly 1)
    fries: MenuItem  # 4.00; no choices
    sold_out: MenuItem  # 86ed
    rare: ModifierOption
    medium: ModifierOption
    bacon: ModifierOption  # +2.00
    cheese: ModifierOption  # +1.50
    egg: ModifierOption  # +1.25
    large: ModifierOption  # +1.00
    regular: ModifierOption


@pytest.fixture
def small_menu(db) -> SmallMenu:  # type: ignore[no-untyped-def]
    mains = CategoryFactory(name="Mains", slug="mains", sort_order=1)
    drinks = CategoryFactory(name="Drinks", slug="drinks", sort_order=2)
    cooking = ModifierGroupFactory(name="Cooking", min_choices=1, max_choices=1)
    extras = ModifierGroupFactory(name="Extras", min_choices=0, max_choices=2)
    size = ModifierGroupFactory(name="Size", min_choices=1, max_choices=1)
    burger = MenuItemFactory(category=mains, name="Burger", slug="burger", price_minor=1200)
    lemonade = MenuItemFactory(category=drinks, name="Lemonade", slug="lemonade", price_minor=350)
    fries = MenuItemFactory(category=mains, name="Fries", slug="fries", price_minor=400)
    sold_out = MenuItemFactory(
        category=mains, name="Lobster", slug="lobster", price_minor=3000, is_available=False
    )
    attach(burger, cooking, extras)
    attach(lemonade, size)
    return SmallMenu(
        burger=burger,
        lemonade=lemonade,
        fries=fries,
        sold_out=sold_out,
        rare=ModifierOptionFactory(group=cooking, name="Rare"),
        medium=ModifierOptionFactory(group=cooking, name="Medium"),
        bacon=ModifierOptionFactory(group=extras, name="Bacon", price_delta_minor=200),
        cheese=ModifierOptionFactory(group=extras, name="Cheese", price_delta_minor=150),
        egg=ModifierOptionFactory(group=extras, name="Egg", price_delta_minor=125),
        large=ModifierOptionFactory(group=size, name="Large", price_delta_minor=100),
        regular=ModifierOptionFactory(group=size, name="Regular"),
    )


@pytest.fixture
def floor_tables(db) -> list[Table]:  # type: ignore[no-untyped-def]
    """Tables 1–12 in service, as most restaurants number them."""
    return [TableFactory(label=str(n), sort_order=n) for n in range(1, 13)]


# ---------------------------------------------------------------- its pantry


@dataclass
class Pantry:
    patty: Ingredient  # pieces; a burger takes 1
    bun: Ingredient  # pieces; a burger takes 1
    cheese: Ingredient  # slices (pieces); the burger's Cheese option adds 1
    potatoes: Ingredient  # grams; fries take 200


STOCKROOM = Actor.system("test-stockroom")


def stock(ingredient: Ingredient, quantity: object) -> Ingredient:
    """Brings an ingredient to `quantity` more on hand by a delivery, so the ledger agrees."""
    stock_deliver(ingredient_id=ingredient.pk, quantity=quantity, unit=ingredient.unit, actor=STOCKROOM)
    ingredient.refresh_from_db()
    return ingredient


@pytest.fixture
def pantry(small_menu) -> Pantry:  # type: ignore[no-untyped-def]
    """Recipes for the burger, its cheese and the fries; enough for 10 burgers, 5 cheeses, 10 fries.

    Lemonade has no recipe: it is not stock-tracked and never runs out.
    """
    patty = IngredientFactory(name="Beef patty")
    bun = IngredientFactory(name="Brioche bun")
    cheese = IngredientFactory(name="Cheddar slice")
    potatoes = IngredientFactory(name="Potatoes", unit=Unit.GRAM, par_level=20000, reorder_point=4000)
    RecipeLine.objects.create(item=small_menu.burger, ingredient=patty, quantity=1)
    RecipeLine.objects.create(item=small_menu.burger, ingredient=bun, quantity=1)
    RecipeLine.objects.create(item=small_menu.fries, ingredient=potatoes, quantity=200)
    OptionRecipeLine.objects.create(
        option=small_menu.cheese, ingredient=cheese, effect=OptionEffect.ADD, quantity=1
    )
    return Pantry(
        patty=stock(patty, 10), bun=stock(bun, 10), cheese=stock(cheese, 5), potatoes=stock(potatoes, 2000)
    )


@pytest.fixture
def eager_tasks():  # type: ignore[no-untyped-def]
    """Runs Celery tasks in this process as they are sent, whatever the broker.

    For tests about what a task does; tests about the queue itself start a
    real worker instead.
    """
    from restaurant.celery import app

    saved = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = saved


# ---------------------------------------------------------------- delivery partners on the API


@pytest.fixture
def partner(db):  # type: ignore[no-untyped-def]
    from orders.partners.models import Partner

    return Partner.objects.create(
        name="Rapid Riders", url="https://riders.example/hooks", events=["order.paid", "order.ready"]
    )


@pytest.fixture
def partner_key(partner):  # type: ignore[no-untyped-def]
    """Makes a key of `partner` with the scopes given; returns its Authorization header value."""
    from orders.partners.services import partner_key_create

    def make(*scopes: str, expiry_date=None, of=None) -> str:  # type: ignore[no-untyped-def]
        _key, raw = partner_key_create(
            partner=of or partner, name="test key", scopes=list(scopes), expiry_date=expiry_date
        )
        return f"Api-Key {raw}"

    return make
