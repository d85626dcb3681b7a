"""The pages work in a real browser under the Content-Security-Policy."""

from __future__ import annotations

import pytest
from django.core.management import call_command

pytestmark = pytest.mark.browser

PAGES = ["/", "/menu/classic-burger/", "/cart/", "/accounts/login/", "/accounts/signup/", "/admin/login/"]


def test_no_page_breaks_the_content_security_policy(live_server, open_page):
    call_command("seed_demo", stdout=open("/dev/null", "w"))  # noqa: SIM115
    page, broken = open_page()
    violations: list[str] = []
    page.on(
        "console",
        lambda message: (
            violations.append(message.text) if "Content Security Policy" in message.text else None
        ),
    )

    for path in PAGES:
        response = page.goto(live_server.url + path)
        assert response.status < 400, path
        assert "script-src 'self'" in response.headers["content-security-policy"]

    # The stylesheet loaded under the policy: the header bar is dark, not unstyled.
    page.goto(live_server.url + "/")
    background = page.eval_on_selector(".site-header", "e => getComputedStyle(e).backgroundColor")
    assert background == "rgb(26, 26, 26)"
    assert violations == []
    assert broken == []


def test_an_inline_script_is_refused_by_the_browser(live_server, open_page):
    page, _ = open_page()
    violations: list[str] = []
    page.on("console", lambda message: violations.append(message.text))
    page.goto(live_server.url + "/")

    # Given a script element injected without the page's nonce, as an XSS would
    page.evaluate(
        "() => { const s = document.createElement('script'); s.textContent = 'window.pwned = 1';"
        " document.body.appendChild(s); }"
    )

    # Then the browser refuses to run it
    assert page.evaluate("() => window.pwned") is None
    assert any("Content Security Policy" in text for text in violations)
