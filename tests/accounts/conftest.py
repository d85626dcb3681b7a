"""A real OpenID Connect provider on loopback, and the site configured to use it.

tests/oidc/provider.mjs runs node-oidc-provider (pinned in tests/oidc/package-lock.json)
under the machine's Node.js. The site reaches it exactly as it reaches a production
provider: discovery, authorization redirect, code exchange (with PKCE and the client
secret), ID token and userinfo, all over real HTTP. Nothing is mocked.

Needs `node` and `npm`: without them the tests are skipped (failed when
BRIGADE_REQUIRE_SERVICES is set). `npm ci` runs once when node_modules is missing
or does not match the lockfile.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
import threading
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from django.urls import reverse

from accounts.social import socialaccount_providers
from tests.e2e.conftest import (  # noqa: F401  (fixtures, shared with the browser tests)
    _static_files_as_in_production,
    browser,
    open_page,
    playwright,
)
from tests.harness.npm import installed_matches_lockfile, npm_ci
from tests.requirements import need

OIDC_DIR = Path(__file__).resolve().parent.parent / "oidc"
PROVIDER_ID = "oidc"  # accounts.social's default OIDC_PROVIDER_ID
PROVIDER_NAME = "Test identity provider"
PROVIDER_EMAIL = "olive@example.test"
READY_PREFIX = "OIDC provider ready at "
START_TIMEOUT = 15


@dataclass
class OIDCProvider:
    issuer: str
    client_id: str
    client_secret: str
    email: str
    process: subprocess.Popen[str] = field(repr=False)
    output: list[str] = field(default_factory=list, repr=False)

    def log(self) -> str:
        return "".join(self.output[-50:])


def _drain(stream, output: list[str], ready: list[str], event: threading.Event) -> None:  # type: ignore[no-untyped-def]
    for line in stream:
        output.append(line)
        if line.startswith(READY_PREFIX):
            ready.append(line.removeprefix(READY_PREFIX).strip())
            event.set()
    event.set()  # the stream closed: the process ended


def _start_provider(node: str, redirect_uri: str) -> OIDCProvider:
    client_id = "brigade-test-client"
    client_secret = secrets.token_urlsafe(32)
    env = {
        **os.environ,
        "OIDC_CLIENT_ID": client_id,
        "OIDC_CLIENT_SECRET": client_secret,
        "OIDC_REDIRECT_URIS": redirect_uri,
        "OIDC_TEST_EMAIL": PROVIDER_EMAIL,
    }
    process = subprocess.Popen(
        [node, "provider.mjs", "0"],
        cwd=OIDC_DIR,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        bufsize=1,
    )
    output: list[str] = []
    ready: list[str] = []
    event = threading.Event()
    threading.Thread(target=_drain, args=(process.stdout, output, ready, event), daemon=True).start()
    if not event.wait(START_TIMEOUT) or not ready:
        process.kill()
        process.wait(5)
        pytest.fail(f"the test OIDC provider did not start:\n{''.join(output)}", pytrace=False)
    provider = OIDCProvider(ready[0], client_id, client_secret, PROVIDER_EMAIL, process, output)
    _wait_for_discovery(provider)
    return provider


def _wait_for_discovery(provider: OIDCProvider) -> None:
    url = provider.issuer + "/.well-known/openid-configuration"
    deadline = time.monotonic() + START_TIMEOUT
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 (loopback http)
                if json.load(response)["issuer"] == provider.issuer:
                    return
        except OSError:
            if time.monotonic() > deadline or provider.process.poll() is not None:
                raise
        time.sleep(0.05)


@pytest.fixture(scope="session")
def oidc_provider(live_server) -> Iterator[OIDCProvider]:  # type: ignore[no-untyped-def]
    """A running provider whose one client may redirect to this live_server's callback."""
    node, npm = shutil.which("node"), shutil.which("npm")
    need(node is not None, "needs Node.js (node) to run the test OpenID Connect provider")
    need(npm is not None, "needs npm to install the test OpenID Connect provider (tests/oidc)")
    assert node is not None and npm is not None
    if not installed_matches_lockfile(OIDC_DIR, "oidc-provider"):
        npm_ci(npm, OIDC_DIR)
    callback = reverse("openid_connect_callback", kwargs={"provider_id": PROVIDER_ID})
    provider = _start_provider(node, live_server.url + callback)
    try:
        yield provider
    finally:
        provider.process.terminate()
        try:
            provider.process.wait(5)
        except subprocess.TimeoutExpired:
            provider.process.kill()
            provider.process.wait(5)


@pytest.fixture
def oidc_site(oidc_provider: OIDCProvider, settings, monkeypatch: pytest.MonkeyPatch) -> OIDCProvider:
    """The site configured for the provider the way production is: from the environment.

    The same accounts.social.socialaccount_providers() that settings.py calls at
    import runs again here with the provider's OIDC_* variables, so the test
    covers the real configuration (PKCE on, provider id, server_url); the
    provider refuses any authorization request without PKCE.
    """
    monkeypatch.setenv("OIDC_SERVER_URL", oidc_provider.issuer)
    monkeypatch.setenv("OIDC_CLIENT_ID", oidc_provider.client_id)
    monkeypatch.setenv("OIDC_CLIENT_SECRET", oidc_provider.client_secret)
    monkeypatch.setenv("OIDC_PROVIDER_ID", PROVIDER_ID)
    monkeypatch.setenv("OIDC_PROVIDER_NAME", PROVIDER_NAME)
    for name in ("GOOGLE_CLIENT_ID", "GITHUB_CLIENT_ID"):
        monkeypatch.delenv(name, raising=False)
    # The site's server-side calls (discovery, token, userinfo, JWKS) go to
    # loopback directly even where the environment names an HTTP proxy.
    for name in ("NO_PROXY", "no_proxy"):
        monkeypatch.setenv(name, ",".join(filter(None, [os.environ.get(name), "127.0.0.1", "localhost"])))
    settings.SOCIALACCOUNT_PROVIDERS = socialaccount_providers()
    return oidc_provider


@pytest.fixture
def verified_actors(actors):  # type: ignore[no-untyped-def]
    """The shared actors, each with the verified address a password sign-in needs.

    Email verification is mandatory: an account whose address was never
    verified is sent a confirmation mail instead of being signed in.
    """
    from allauth.account.models import EmailAddress

    for user in vars(actors).values():
        EmailAddress.objects.create(user=user, email=user.email, verified=True, primary=True)
    return actors
