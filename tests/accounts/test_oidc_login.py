"""Social sign-in against a real OpenID Connect provider, in a real browser.

The provider (tests/oidc/provider.mjs, see conftest.py) runs on loopback; the
browser follows the real redirects, signs in and consents there, and the site
does the real code exchange (client secret + PKCE), fetches userinfo and checks
the ID token's issuer, audience and expiry. Nothing is mocked.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from allauth.account.models import EmailAddress
from allauth.socialaccount.models import SocialAccount
from django.urls import reverse
from playwright.sync_api import Page, expect

from accounts.models import User
from tests.accounts.conftest import PROVIDER_ID, PROVIDER_NAME, OIDCProvider
from tests.conftest import PASSWORD
from tests.factories import UserFactory

pytestmark = pytest.mark.browser

CALLBACK_PATH = reverse("openid_connect_callback", kwargs={"provider_id": PROVIDER_ID})
LOGIN = "olive"  # typed at the provider's sign-in form; becomes the ID token's `sub`


def _start_at_the_site(page: Page, live_server, provider: OIDCProvider) -> None:  # type: ignore[no-untyped-def]
    page.goto(live_server.url + reverse("account_login"))
    page.get_by_role("link", name=PROVIDER_NAME).click()
    # SOCIALACCOUNT_LOGIN_ON_GET is off: a GET only asks, a POST leaves for the provider.
    expect(page.get_by_role("heading", name=f"Sign In Via {PROVIDER_NAME}")).to_be_visible()
    page.get_by_role("button", name="Continue").click()
    expect(page).to_have_url(re.compile(rf"^{re.escape(provider.issuer)}/interaction/"))


def _sign_in_and_consent_at_the_provider(page: Page, provider: OIDCProvider) -> None:
    # oidc-provider's development interactions: any login and password, then consent.
    page.get_by_placeholder("Enter any login").fill(LOGIN)
    page.get_by_placeholder("and password").fill("whatever-the-provider-accepts")
    page.get_by_role("button", name="Sign-in").click()
    expect(page.locator("input[name=prompt][value=consent]")).to_be_attached()
    assert page.url.startswith(provider.issuer + "/interaction/")
    page.get_by_role("button", name="Continue").click()


def _sign_in_with_the_provider(page: Page, live_server, provider: OIDCProvider) -> None:  # type: ignore[no-untyped-def]
    _start_at_the_site(page, live_server, provider)
    _sign_in_and_consent_at_the_provider(page, provider)
    expect(page).to_have_url(live_server.url + reverse("menu:index"))


def _expect_signed_in(page: Page, provider: OIDCProvider) -> None:
    nav = page.get_by_role("navigation", name="Main")
    try:
        expect(nav.get_by_role("button", name="Sign out")).to_be_visible()
    except AssertionError as error:
        raise AssertionError(f"not signed in; provider log:\n{provider.log()}") from error
    expect(nav.get_by_role("link", name="My orders")).to_be_visible()


def _expect_signed_out(page: Page) -> None:
    nav = page.get_by_role("navigation", name="Main")
    expect(nav.get_by_role("link", name="Sign in")).to_be_visible()
    expect(nav.get_by_role("button", name="Sign out")).to_have_count(0)


@contextmanager
def _holding_requests_to(page: Page, url: str) -> Iterator[list[str]]:
    """Answers the browser's requests to url (and below) itself, and records them.

    The provider sends the browser to the callback with a redirect, which
    Playwright's page.route() does not see; Chromium's own Fetch interception does.
    """
    held: list[str] = []
    cdp = page.context.new_cdp_session(page)

    def hold(event: dict) -> None:
        held.append(event["request"]["url"])
        cdp.send(
            "Fetch.fulfillRequest",
            {
                "requestId": event["requestId"],
                "responseCode": 200,
                "responseHeaders": [{"name": "Content-Type", "value": "text/plain"}],
                "body": base64.b64encode(b"held by the test").decode(),
            },
        )

    cdp.on("Fetch.requestPaused", hold)
    # Fetch patterns: "*" is any run of characters, "?" any one, backslash escapes.
    pattern = re.sub(r"([*?\\])", r"\\\1", url) + "*"
    cdp.send("Fetch.enable", {"patterns": [{"urlPattern": pattern, "requestStage": "Request"}]})
    try:
        yield held
    finally:
        cdp.send("Fetch.disable")
        cdp.detach()


def _site_errors(broken: list[str], live_server) -> list[str]:  # type: ignore[no-untyped-def]
    return [entry for entry in broken if entry.split(" ", 1)[1].startswith(live_server.url)]


def _assert_linked_by_id_token(account: SocialAccount, provider: OIDCProvider) -> None:
    # allauth keeps what it read: the userinfo answer and the ID token it decoded
    # after checking its issuer, audience and expiry.
    assert account.provider == PROVIDER_ID
    assert account.uid == LOGIN
    id_token = account.extra_data["id_token"]
    assert (id_token["iss"], id_token["aud"], id_token["sub"]) == (provider.issuer, provider.client_id, LOGIN)
    assert account.extra_data["userinfo"]["email"] == provider.email
    assert account.extra_data["userinfo"]["email_verified"] is True


def test_a_customer_signs_in_with_an_openid_connect_provider(live_server, oidc_site, open_page) -> None:
    page, broken = open_page()

    _sign_in_with_the_provider(page, live_server, oidc_site)

    _expect_signed_in(page, oidc_site)
    assert _site_errors(broken, live_server) == []
    user = User.objects.get(email=oidc_site.email)
    _assert_linked_by_id_token(SocialAccount.objects.get(user=user), oidc_site)
    # The provider vouched for the address, so it is verified without a confirmation mail.
    assert EmailAddress.objects.filter(user=user, email=oidc_site.email, verified=True, primary=True).exists()
    assert (user.first_name, user.last_name) == ("Olive", "Dee")
    assert not user.has_usable_password()


@pytest.mark.parametrize("locally_verified", [True, False], ids=["verified-here", "never-verified-here"])
def test_a_verified_email_from_the_provider_joins_the_existing_account(
    live_server, oidc_site, open_page, locally_verified: bool
) -> None:
    existing = UserFactory(username="olive_here", email=oidc_site.email)
    if locally_verified:
        EmailAddress.objects.create(user=existing, email=existing.email, verified=True, primary=True)
    page, broken = open_page()

    _sign_in_with_the_provider(page, live_server, oidc_site)

    _expect_signed_in(page, oidc_site)
    assert _site_errors(broken, live_server) == []
    assert list(User.objects.all()) == [existing]
    account = SocialAccount.objects.get()
    assert account.user == existing
    _assert_linked_by_id_token(account, oidc_site)
    existing.refresh_from_db()
    # An address this site never verified may have been registered by someone
    # else waiting for its owner to arrive: allauth locks that password out.
    assert existing.check_password(PASSWORD) is locally_verified
    assert existing.has_usable_password() is locally_verified


def test_a_callback_with_a_forged_state_signs_nobody_in(live_server, oidc_site, open_page) -> None:
    callback = live_server.url + CALLBACK_PATH
    page, _ = open_page()

    # A made-up callback: allauth's error page, 401, nobody signed in.
    response = page.goto(f"{callback}?{urlencode({'code': 'x', 'state': 'bogus'})}")
    assert response is not None and response.status == 401
    expect(page.get_by_role("heading", name="Third-Party Login Failure")).to_be_visible()
    _expect_signed_out(page)

    # A genuine code and state from the provider, held back from the site.
    with _holding_requests_to(page, callback) as held:
        _start_at_the_site(page, live_server, oidc_site)
        _sign_in_and_consent_at_the_provider(page, oidc_site)
        expect(page.get_by_text("held by the test")).to_be_visible()
    assert len(held) == 1
    genuine = urlsplit(held[0])
    params = {key: values[0] for key, values in parse_qs(genuine.query).items()}
    assert {"code", "state", "iss"} <= params.keys()

    # The genuine code with a forged state.
    state = params["state"]
    forged = {**params, "state": state[:-1] + ("A" if state[-1] != "A" else "B")}
    response = page.goto(f"{callback}?{urlencode(forged)}")
    assert response is not None and response.status == 401
    expect(page.get_by_role("heading", name="Third-Party Login Failure")).to_be_visible()
    _expect_signed_out(page)

    # The genuine code and state in another browser (login CSRF): the state
    # belongs to the session that started the sign-in, not to whoever holds the URL.
    other, _ = open_page()
    response = other.goto(genuine.geturl())
    assert response is not None and response.status == 401
    _expect_signed_out(other)
    assert not User.objects.exists()
    assert not SocialAccount.objects.exists()

    # The same URL in the browser that started the sign-in still works, so the
    # refusals above were the state check and not a spent or broken code.
    page.goto(genuine.geturl())
    _expect_signed_in(page, oidc_site)
    assert SocialAccount.objects.get().user.email == oidc_site.email
