"""The menu as customers see it, built once per menu version and shared through the cache.

What the menu shows is read from the database once per *menu version*, a
random token in the default cache (Redis in production; restaurant.cache_versions
is the mechanism, which the kitchen's pacing rules use too). Every write that
changes what the menu shows calls `menu_changed()`, which replaces the token
after the transaction commits (menu.signals wires the models and the
"vip_specials" flag to it), so the next request on any instance sees the new
version and the one process that wins a short lock rebuilds it; the others
serve the version they already hold, or wait a bounded time for the new one.

The snapshot is data (plain frozen dataclasses), never a page: it is the
same for every visitor, specials included, and each request picks its
audience's view of it (`MenuSnapshot.categories_for`). Whatever is personal
(cart, messages, the visitor's name, whether the flag is on for them) is
added at render time and never stored here.

With the cache unreachable the menu is built from the database on every
request (`MenuSnapshot.version` is None: nothing to revalidate against) and
nothing is raised.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections.abc import Set
from dataclasses import dataclass, field, fields

from django.conf import settings
from django.core.cache import cache
from django.db.models import Prefetch
from django.urls import reverse
from waffle import get_waffle_flag_model
from waffle.models import AbstractBaseFlag

from menu.changes import menu_listeners_after_commit
from menu.flags import VIP_SPECIALS_FLAG
from menu.models import Allergen, Category, DietaryTag, MenuItem, MenuItemModifierGroup, ModifierOption
from menu.pantry.selectors import items_out_of_stock, options_out_of_stock
from restaurant.cache_versions import (
    CACHE_ERRORS,
    cache_version,
    cache_version_bump,
    cache_version_bump_after_commit,
    cache_version_key,
)

logger = logging.getLogger(__name__)

# The menu's version (restaurant.cache_versions): what every kept snapshot and page is keyed by.
MENU_VERSION = "menu"
VERSION_KEY = cache_version_key(MENU_VERSION)
# Counts the builds of a shared snapshot: how often the database was read for
# the menu (operations, and the stampede test, read it).
REBUILDS_KEY = "menu:rebuilds"


def _snapshot_key(version: str) -> str:
    return f"menu:snapshot:{SNAPSHOT_SCHEMA}:{version}"


def _lock_key(version: str) -> str:
    return f"menu:rebuilding:{SNAPSHOT_SCHEMA}:{version}"


@dataclass(frozen=True, slots=True)
class OptionView:
    pk: int
    name: str
    price_delta_minor: int
    is_available: bool


@dataclass(frozen=True, slots=True)
class GroupView:
    pk: int
    name: str
    min_choices: int
    max_choices: int
    rule_text: str
    options: tuple[OptionView, ...]

    @property
    def is_required(self) -> bool:
        return self.min_choices > 0

    @property
    def is_single_choice(self) -> bool:
        return self.max_choices == 1


@dataclass(frozen=True, slots=True)
class ItemView:
    pk: int
    slug: str
    url: str
    name: str
    description: str
    price_minor: int
    is_available: bool
    is_special: bool
    image_url: str
    category_slug: str
    category_name: str
    allergens: tuple[str, ...]
    dietary_tags: tuple[str, ...]
    groups: tuple[GroupView, ...]
    # The same as codes, for the menu's filters (menu.filters).
    allergen_codes: frozenset[str] = frozenset()
    dietary_codes: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class CategoryView:
    slug: str
    name: str
    description: str
    items: tuple[ItemView, ...]


@dataclass(frozen=True)
class MenuSnapshot:
    """The whole customer menu at one version; None for a build the cache could not hold."""

    version: str | None
    # Every listed item in an active category, specials included.
    categories: tuple[CategoryView, ...]
    # The flag "vip_specials" as saved at this version (its saves bump the
    # version, menu.signals): asked per request without a cache read of its own.
    vip_flag: AbstractBaseFlag
    # Every dietary tag and allergen as (code, name), what the menu's filters offer and accept.
    dietary_choices: tuple[tuple[str, str], ...] = ()
    allergen_choices: tuple[tuple[str, str], ...] = ()
    _without_specials: tuple[CategoryView, ...] = field(init=False, repr=False, compare=False)
    _by_slug: dict[str, ItemView] = field(init=False, repr=False, compare=False)
    _by_pk: dict[int, ItemView] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        regular = []
        for category in self.categories:
            items = tuple(item for item in category.items if not item.is_special)
            if items:
                regular.append(CategoryView(category.slug, category.name, category.description, items))
        object.__setattr__(self, "_without_specials", tuple(regular))
        every = [item for category in self.categories for item in category.items]
        object.__setattr__(self, "_by_slug", {item.slug: item for item in every})
        object.__setattr__(self, "_by_pk", {item.pk: item for item in every})

    def categories_for(self, *, specials: bool) -> tuple[CategoryView, ...]:
        """The menu one audience sees: a special does not exist for a visitor without the flag."""
        return self.categories if specials else self._without_specials

    def item_for(self, *, slug: str, specials: bool) -> ItemView | None:
        item = self._by_slug.get(slug)
        if item is None or (item.is_special and not specials):
            return None
        return item

    def item_by_pk(self, pk: int) -> ItemView | None:
        """Any item on the menu, specials included: the cart's pricing (orders.pricing) applies the rule."""
        return self._by_pk.get(pk)


# Part of every snapshot key, from the shape of the classes above: a deploy
# that changes them never unpickles a snapshot an older release stored.
SNAPSHOT_SCHEMA = hashlib.sha256(
    repr(
        [
            (view.__name__, [f.name for f in fields(view)])
            for view in (OptionView, GroupView, ItemView, CategoryView, MenuSnapshot)
        ]
    ).encode()
).hexdigest()[:8]


# ---------------------------------------------------------------- building from the database


def item_groups_prefetch() -> Prefetch:
    """An item's modifier groups with their options in the order the menu shows them."""
    return Prefetch(
        "item_groups",
        queryset=MenuItemModifierGroup.objects.select_related("group").prefetch_related(
            Prefetch("group__options", queryset=ModifierOption.objects.order_by("sort_order", "id"))
        ),
    )


def group_view(link: MenuItemModifierGroup, options_short: Set[int] = frozenset()) -> GroupView:
    """One of an item's groups, prefetched by item_groups_prefetch.

    Its options in `options_short` (what the pantry cannot make now) are unavailable.
    """
    group = link.group
    return GroupView(
        pk=group.pk,
        name=group.name,
        min_choices=group.min_choices,
        max_choices=group.max_choices,
        rule_text=group.rule_text(),
        options=tuple(
            OptionView(
                option.pk,
                option.name,
                option.price_delta_minor,
                option.is_available and option.pk not in options_short,
            )
            for option in group.options.all()
        ),
    )


def menu_snapshot_build(*, version: str | None) -> MenuSnapshot:
    """Reads the customer menu and the specials flag from the database (12 queries, whatever its size).

    An item or option is unavailable when a manager 86ed it or when what the
    pantry has left cannot make one portion of it (auto-86, menu.pantry).
    """
    items_short, options_short = items_out_of_stock(), options_out_of_stock()
    items = (
        MenuItem.objects.on_menu()
        .prefetch_related(
            "allergens",
            "dietary_tags",
            item_groups_prefetch(),
        )
        .order_by("sort_order", "name")
    )
    categories = Category.objects.filter(is_active=True).prefetch_related(
        Prefetch("items", queryset=items, to_attr="menu_items")
    )
    item_url = reverse("menu:item", kwargs={"slug": "-"}).removesuffix("-/")
    views = []
    for category in categories:
        if not category.menu_items:
            continue
        views.append(
            CategoryView(
                slug=category.slug,
                name=category.name,
                description=category.description,
                items=tuple(
                    ItemView(
                        pk=item.pk,
                        slug=item.slug,
                        url=f"{item_url}{item.slug}/",
                        name=item.name,
                        description=item.description,
                        price_minor=item.price_minor,
                        is_available=item.is_available and item.pk not in items_short,
                        is_special=item.is_special,
                        image_url=item.image.url if item.image else "",
                        category_slug=category.slug,
                        category_name=category.name,
                        allergens=tuple(allergen.name for allergen in item.allergens.all()),
                        dietary_tags=tuple(tag.name for tag in item.dietary_tags.all()),
                        groups=tuple(group_view(link, options_short) for link in item.item_groups.all()),
                        allergen_codes=frozenset(allergen.code for allergen in item.allergens.all()),
                        dietary_codes=frozenset(tag.code for tag in item.dietary_tags.all()),
                    )
                    for item in category.menu_items
                ),
            )
        )
    flag_model = get_waffle_flag_model()
    # A missing flag is waffle's unsaved default (off), as Flag.get would give.
    vip_flag = flag_model.objects.filter(name=VIP_SPECIALS_FLAG).first() or flag_model(name=VIP_SPECIALS_FLAG)
    return MenuSnapshot(
        version=version,
        categories=tuple(views),
        vip_flag=vip_flag,
        dietary_choices=tuple(DietaryTag.objects.order_by("name").values_list("code", "name")),
        allergen_choices=tuple(Allergen.objects.order_by("name").values_list("code", "name")),
    )


# ---------------------------------------------------------------- the version


def menu_version_bump() -> None:
    """Makes every instance read the menu afresh on its next request.

    A bump lost while the cache is unreachable is bounded by the snapshots'
    expiry (MENU_CACHE_SECONDS) once it is back.
    """
    cache_version_bump(MENU_VERSION)


def menu_changed() -> None:
    """Call from every write that changes what the menu shows; the bump follows the commit.

    Before the commit another process would rebuild from the rows as they
    were and keep that under the new version. The apps that listen to the
    menu (menu.changes: the kitchen's 86 list) are told after the bump.
    """
    cache_version_bump_after_commit(MENU_VERSION)
    menu_listeners_after_commit()


def _current_version() -> str | None:
    """The menu version, made on first use; None if the cache keeps nothing (it is failing)."""
    return cache_version(MENU_VERSION)


def menu_version_current() -> str | None:
    """The menu version now, for what other apps keep per version; None while the cache is unreachable."""
    try:
        return _current_version()
    except CACHE_ERRORS:
        return None


# ---------------------------------------------------------------- reading, stampede-safe

# The last snapshot this process used: served while the cache says its version
# is still current, and served (stale by one version, for the length of one
# rebuild) while another process rebuilds the next.
# Held at most MENU_CACHE_SECONDS, like the shared copy: the bound on how long
# a bump lost to a cache outage goes unseen.
_held: MenuSnapshot | None = None
_held_until = 0.0
_held_lock = threading.Lock()


def _rebuild(version: str) -> MenuSnapshot:
    snapshot = menu_snapshot_build(version=version)
    cache.set(_snapshot_key(version), snapshot, timeout=settings.MENU_CACHE_SECONDS)
    cache.add(REBUILDS_KEY, 0, timeout=None)
    rebuilds = cache.incr(REBUILDS_KEY)
    logger.info("menu rebuilt", extra={"menu_version": version, "menu_rebuilds": rebuilds})
    return snapshot


def _shared_snapshot(version: str, held: MenuSnapshot | None) -> MenuSnapshot:
    snapshot = cache.get(_snapshot_key(version))
    if isinstance(snapshot, MenuSnapshot):
        return snapshot
    if cache.add(_lock_key(version), 1, timeout=settings.MENU_REBUILD_LOCK_SECONDS):
        try:
            # Another process may have stored it and let go of the lock since we looked.
            snapshot = cache.get(_snapshot_key(version))
            return snapshot if isinstance(snapshot, MenuSnapshot) else _rebuild(version)
        finally:
            cache.delete(_lock_key(version))
    if held is not None:
        return held  # another process is rebuilding: the previous version, for a moment
    deadline = time.monotonic() + settings.MENU_REBUILD_WAIT_SECONDS
    while time.monotonic() < deadline:
        time.sleep(0.01)
        snapshot = cache.get(_snapshot_key(version))
        if isinstance(snapshot, MenuSnapshot):
            return snapshot
    logger.warning("menu rebuild elsewhere took too long: building here", extra={"menu_version": version})
    return _rebuild(version)


def menu_snapshot() -> MenuSnapshot:
    """The current menu: this process's copy, the shared one, or one built now."""
    global _held, _held_until
    try:
        version = _current_version()
        if version is None:
            return menu_snapshot_build(version=None)
        held = _held if time.monotonic() < _held_until else None
        if held is not None and held.version == version:
            return held
        snapshot = _shared_snapshot(version, held)
    except CACHE_ERRORS:
        logger.warning("menu cache unreachable: menu read from the database", exc_info=True)
        return menu_snapshot_build(version=None)
    if snapshot.version == version and snapshot is not _held:
        with _held_lock:
            _held, _held_until = snapshot, time.monotonic() + settings.MENU_CACHE_SECONDS
    return snapshot
