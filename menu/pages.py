"""The menu and item pages: the shared snapshot, the visitor's own parts, ETag and 304.

HTTP caching, decided (docs/decisions.md "The cached menu"):

- `Cache-Control: private, no-cache`. The page carries personal parts (the
  cart count, who is signed in, messages, a CSRF token in forms), so no
  shared cache may keep it; and a browser must ask every time, so an 86 or a
  new price shows at once. Asking is cheap: `If-None-Match` with a current
  ETag is answered 304 with no body and without rendering anything.
- The ETag is a keyed hash of everything the page is made of: the menu
  version, the audience (specials or not), the page, the templates and
  static files of this deploy, and the visitor's part: their session's
  contents (cart, sign-in), their roles, and for a page with a form the CSRF
  secret from their cookie. Two visitors never share an ETag unless their
  pages are identical up to the CSRF mask. A visitor with messages waiting
  gets no ETag (the page shows them once), nor does one whose form would set
  a new CSRF cookie, nor anyone while the cache is unreachable.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Callable, Sequence
from pathlib import Path

from django.conf import settings
from django.contrib.messages import get_messages
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import render
from django.template.loader import render_to_string
from django.utils.cache import get_conditional_response
from django.utils.crypto import salted_hmac
from django.utils.http import quote_etag
from django.utils.safestring import SafeString, mark_safe

from accounts.permissions import Capability, can
from accounts.session_policy import LAST_SEEN_AT
from menu.cache import MenuSnapshot
from menu.filters import NO_FILTER, InvalidMenuFilter, MenuFilter, categories_filtered, menu_filter_from
from menu.selectors import menu_current
from menu.specials import specials_active
from restaurant.error_views import error_json, wants_json

CACHE_CONTROL = "private, no-cache"

# The rendered menu body per (menu version, audience), in this process. It
# holds no personal part (templates/menu/_menu.html), so every visitor of
# one audience gets the same bytes; a new version empties it.
_bodies: dict[tuple[str, bool], SafeString] = {}
# Whole pages of visitors with nothing of their own on them (_anonymous_page).
_guest_pages: dict[tuple[str, str, bool, str], bytes] = {}
_bodies_lock = threading.Lock()
_deploy_id: str | None = None

# Parts of every page that are not the menu's but are the same for every visitor
# (the coupon in the site banner). Apps above menu register, from their
# AppConfig.ready, a function of the menu version that returns a short token of
# what they show now; it goes into the ETag and the key of a kept guest page, so
# those change when the part does, without menu knowing what it is.
_page_parts: list[Callable[[str | None], str]] = []


def page_part_register(part: Callable[[str | None], str]) -> None:
    if part not in _page_parts:
        _page_parts.append(part)


def _page_parts_now(version: str | None) -> str:
    return "|".join(part(version) for part in _page_parts)


def _deploy() -> str:
    """What this deploy renders with: the templates and the static manifest."""
    global _deploy_id
    if _deploy_id is None:
        digest = hashlib.sha256()
        sources = sorted(Path(settings.BASE_DIR, "templates").rglob("*.html"))
        manifest = Path(settings.STATIC_ROOT) / "staticfiles.json"
        for path in [*sources, manifest]:
            if path.exists():
                digest.update(str(path).encode())
                digest.update(path.read_bytes())
        _deploy_id = digest.hexdigest()[:16]
    return _deploy_id


def _pending_messages(request: HttpRequest) -> bool:
    # len() loads the stored messages without marking them shown.
    return bool(len(get_messages(request)))


def _visitor_part(request: HttpRequest, *, has_form: bool) -> str | None:
    """What differs per visitor on these pages, or None when no ETag may be given."""
    if _pending_messages(request):
        return None
    session = getattr(request, "session", None)
    contents = {} if session is None else {k: v for k, v in session.items() if k != LAST_SEEN_AT}
    user = request.user
    roles = (
        (
            user.pk,
            user.is_staff,
            can(user, Capability.USE_KITCHEN_BOARD),
            can(user, Capability.WORK_THE_FLOOR),
        )
        if user.is_authenticated
        else ()
    )
    # A signed-in header has the sign-out form; an item page the add-to-cart form.
    csrf = ""
    if has_form or user.is_authenticated:
        csrf = request.META.get("CSRF_COOKIE") or ""
        if not csrf:
            return None  # this render sets a new CSRF cookie: the page cannot be the same
    return json.dumps([contents, roles, csrf], sort_keys=True, default=str)


def _etag(
    request: HttpRequest, snapshot: MenuSnapshot, *, page: str, specials: bool, has_form: bool
) -> str | None:
    if snapshot.version is None:
        return None
    visitor = _visitor_part(request, has_form=has_form)
    if visitor is None:
        return None
    value = "|".join(
        (
            _deploy(),
            snapshot.version,
            _page_parts_now(snapshot.version),
            page,
            "specials" if specials else "regular",
            visitor,
        )
    )
    return salted_hmac("menu.pages.etag", value).hexdigest()[:32]


def _menu_body(snapshot: MenuSnapshot, *, specials: bool, menu_filter: MenuFilter = NO_FILTER) -> SafeString:
    categories = snapshot.categories_for(specials=specials)
    if menu_filter or snapshot.version is None:
        # A filtered body is rendered for its request and not kept: the filters' combinations
        # are many, and the snapshot they filter is already the shared, cached part.
        context = {"categories": categories_filtered(categories, menu_filter), "filtered": bool(menu_filter)}
        return mark_safe(render_to_string("menu/_menu.html", context))  # noqa: S308 - our template, autoescaped
    key = (snapshot.version, specials)
    body = _bodies.get(key)
    if body is None:
        body = mark_safe(render_to_string("menu/_menu.html", {"categories": categories}))  # noqa: S308 - our template, autoescaped
        with _bodies_lock:
            if any(version != snapshot.version for version, _ in _bodies):
                _bodies.clear()
            _bodies[key] = body
    return body


def _filter_form(snapshot: MenuSnapshot, menu_filter: MenuFilter) -> dict[str, object]:
    """The filter form's choices, ticked as the request asked: codes of the menu only, nothing personal."""
    return {
        "diet": [(code, name, code in menu_filter.diet) for code, name in snapshot.dietary_choices],
        "free_of": [(code, name, code in menu_filter.free_of) for code, name in snapshot.allergen_choices],
        "active": bool(menu_filter),
    }


def with_caching(response: HttpResponseBase, etag: str | None) -> HttpResponseBase:
    response.headers["Cache-Control"] = CACHE_CONTROL
    if etag is not None:
        response.headers["ETag"] = quote_etag(etag)
    return response


def not_modified_answer(request: HttpRequest, etag: str | None) -> HttpResponseBase | None:
    if etag is None or request.method not in ("GET", "HEAD"):
        return None
    response = get_conditional_response(request, etag=quote_etag(etag))
    return None if response is None else with_caching(response, etag)


def _nobody_in_particular(request: HttpRequest) -> bool:
    """A visitor with nothing of their own on the page: signed out, an empty session, no messages."""
    session = getattr(request, "session", None)
    return (
        not request.user.is_authenticated
        and not (session and session.keys())
        and not _pending_messages(request)
    )


def _kept_nothing_personal(request: HttpRequest, response: HttpResponse) -> bool:
    """The render used no CSRF token, nonce, session or cookie: its bytes are nobody's."""
    session = getattr(request, "session", None)
    return (
        # get_token() sets this whenever a template asks for a CSRF token.
        not request.META.get("CSRF_COOKIE_NEEDS_UPDATE")
        and getattr(request, "_csp_nonce", None) is None
        and not (session and (session.modified or session.keys()))
        and not response.cookies
    )


def _anonymous_page(request: HttpRequest, snapshot: MenuSnapshot, specials: bool) -> HttpResponse:
    """The whole menu page for a visitor with nothing of their own on it, rendered once per process.

    Such a visitor's page is the same for everyone of their audience, so it
    is kept per (menu version, audience, path) in this process, and only if
    its render touched nothing personal (checked after the first render:
    a later template that adds a CSRF token or a nonce for guests simply
    stops being kept). This is the lunch-rush case: new visitors from a link.
    Only the unfiltered menu comes here (the key has no query string).
    """
    key = (snapshot.version or "", _page_parts_now(snapshot.version), specials, request.path_info)
    body = _guest_pages.get(key) if snapshot.version is not None else None
    if body is not None:
        return HttpResponse(body)
    context = {
        "menu_html": _menu_body(snapshot, specials=specials),
        "errors": (),
        "menu_filters": _filter_form(snapshot, NO_FILTER),
    }
    response = render(request, "menu/index.html", context)
    if snapshot.version is not None and _kept_nothing_personal(request, response):
        with _bodies_lock:
            if any(version != snapshot.version for version, _, _, _ in _guest_pages):
                _guest_pages.clear()
            _guest_pages[key] = response.content
    return response


def menu_page(request: HttpRequest, *, errors: Sequence[str] = (), status: int = 200) -> HttpResponseBase:
    """The whole menu for this visitor's audience, filtered as asked; 304 when their copy is current.

    A filter no code has is a 400 (the whole menu, with the message; the
    stable JSON error for a program), never a 500 or a silent "everything".
    """
    snapshot = menu_current()
    specials = specials_active(request, draw=request.method in ("GET", "HEAD"), menu=snapshot)
    menu_filter = NO_FILTER
    try:
        menu_filter = menu_filter_from(request.GET, snapshot)
    except InvalidMenuFilter as error:
        if wants_json(request):
            return with_caching(error_json(400, error.code, error.message, error.data), None)
        errors, status = [*errors, error.message], 400
    page = f"menu?{menu_filter.key()}" if menu_filter else "menu"
    etag = _etag(request, snapshot, page=page, specials=specials, has_form=False) if status == 200 else None
    if (not_modified := not_modified_answer(request, etag)) is not None:
        return not_modified
    if status == 200 and not errors and not menu_filter and _nobody_in_particular(request):
        return with_caching(_anonymous_page(request, snapshot, specials), etag)
    context = {
        "menu_html": _menu_body(snapshot, specials=specials, menu_filter=menu_filter),
        "errors": errors,
        "menu_filters": _filter_form(snapshot, menu_filter),
    }
    return with_caching(render(request, "menu/index.html", context, status=status), etag)


def item_page(
    request: HttpRequest, *, slug: str, errors: Sequence[str] = (), status: int = 200
) -> HttpResponseBase:
    """One item with its choices; 404 for one not on this visitor's menu (a special, flag off)."""
    snapshot = menu_current()
    specials = specials_active(request, draw=request.method in ("GET", "HEAD"), menu=snapshot)
    item = snapshot.item_for(slug=slug, specials=specials)
    if item is None:
        raise Http404("No such item on the menu.")
    etag = (
        _etag(request, snapshot, page=f"item:{slug}", specials=specials, has_form=item.is_available)
        if status == 200
        else None
    )
    if (not_modified := not_modified_answer(request, etag)) is not None:
        return not_modified
    return with_caching(
        render(request, "menu/item.html", {"item": item, "errors": errors}, status=status), etag
    )
