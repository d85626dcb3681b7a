"""Playwright (sync API) driving Debian's Chromium against pytest-django's live_server.

Every browser test is marked `@pytest.mark.browser`: the root conftest skips it
when /usr/bin/chromium is missing and fails it when CI requires every service.
Playwright's bundled browsers are never installed or used.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.staticfiles.handlers import StaticFilesHandler
from playwright.sync_api import Browser, Page, Playwright, sync_playwright

from tests.requirements import CHROMIUM

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
DESKTOP = {"width": 1280, "height": 900}
SCREENSHOTS_DIR = Path(settings.BASE_DIR) / "artifacts" / "screenshots"


@pytest.fixture(scope="module")
def playwright() -> Iterator[Playwright]:
    # Playwright's sync API runs an asyncio event loop on the main thread (in a
    # greenlet) from sync_playwright() until it exits, so meanwhile
    # asyncio.get_running_loop() succeeds there. Django then takes the test's own
    # ORM calls (call_command("seed_demo"), reading a price, the transactional
    # flush after each test) for calls made from async code and raises
    # SynchronousOnlyOperation. They are plain blocking calls between browser
    # steps, never inside a coroutine, so the check is a false alarm here; the
    # live server answers from its own thread and is not affected.
    # Module scope, and the variable set only while the driver runs, keep both
    # the running loop and the relaxed check away from every other test (an
    # async_to_sync call elsewhere would refuse to run next to a running loop).
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as driver:
            yield driver
    finally:
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture(scope="module")
def browser(playwright: Playwright) -> Iterator[Browser]:
    chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    yield chromium
    chromium.close()


@pytest.fixture(autouse=True)
def _static_files_as_in_production(monkeypatch: pytest.MonkeyPatch) -> None:
    # live_server wraps the site in staticfiles' StaticFilesHandler, which looks
    # /static/ paths up with the finders, i.e. in the source folders, where the
    # hashed names the manifest storage renders (brigade.<hash>.css) do not
    # exist: every page would load unstyled. Let the requests through to
    # WhiteNoise instead, which serves the collected STATIC_ROOT as production does.
    monkeypatch.setattr(StaticFilesHandler, "_should_handle", lambda self, path: False)


@pytest.fixture
def open_page(browser: Browser) -> Iterator[Callable[..., tuple[Page, list[str]]]]:
    """Opens a page in a fresh context (own cookies, own viewport).

    Returns the page and a list that collects "<status> <url>" of every response
    of 400 or more it receives, so a missing stylesheet or script fails the test.
    """
    contexts = []

    def _open(viewport: dict[str, int] = DESKTOP) -> tuple[Page, list[str]]:
        context = browser.new_context(viewport=viewport, locale="en-IE")
        # A bound on waiting, not a speed target: on a loaded two-core machine an
        # admin page and its dozen static files took longer than 10 s to go quiet.
        context.set_default_timeout(30_000)
        contexts.append(context)
        page = context.new_page()
        broken: list[str] = []
        page.on("response", lambda r: broken.append(f"{r.status} {r.url}") if r.status >= 400 else None)
        return page, broken

    yield _open
    for context in contexts:
        context.close()


@pytest.fixture
def screenshot() -> Callable[..., Path]:
    """Saves a screenshot (the full page, or just the viewport) under artifacts/screenshots/."""

    def _save(page: Page, name: str, *, full_page: bool = True) -> Path:
        SCREENSHOTS_DIR.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOTS_DIR / name
        page.screenshot(path=str(path), full_page=full_page)
        return path

    return _save
