"""The API's foundations: /api/v1/ with its schema and docs (served by us, under our CSP), one error shape."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest
import yaml
from django.test import Client

from tests.api import api_error, post_json
from tests.conftest import client_for

pytestmark = pytest.mark.django_db


class _Assets(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []
        self.inline_scripts = 0
        self._in_script = False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "script":
            self._in_script = "src" not in attrs
            if "src" in attrs:
                self.urls.append(attrs["src"])
        elif tag == "link" and attrs.get("href"):
            self.urls.append(attrs["href"])
        elif tag == "img" and attrs.get("src"):
            self.urls.append(attrs["src"])

    def handle_data(self, data):
        if self._in_script and data.strip():
            self.inline_scripts += 1

    def handle_endtag(self, tag):
        if tag == "script":
            self._in_script = False


def test_the_schema_is_openapi_3_for_api_v1():
    response = Client().get("/api/v1/schema/")

    assert response.status_code == 200
    schema = yaml.safe_load(response.content)
    assert schema["openapi"].startswith("3.")
    assert schema["info"]["title"] == "Brigade API"
    assert all(route.startswith("/api/v1/") for route in schema["paths"])


def test_the_docs_page_loads_only_our_own_assets_under_the_site_csp():
    client = client_for(None)

    response = client.get("/api/v1/docs/")

    assert response.status_code == 200
    page = _Assets()
    page.feed(response.content.decode())
    assert page.urls, "the docs page loads Swagger UI"
    assert page.inline_scripts == 0
    for url in page.urls:
        # Same origin, nothing from a CDN: a path of ours, never a scheme or "//host".
        assert url.startswith("/") and not url.startswith("//"), url
        asset = client.get(url)
        assert asset.status_code == 200, url
    csp = response["Content-Security-Policy"]
    assert not re.search(r"https?:|//", csp), csp
    script_src = next(part for part in csp.split(";") if part.strip().startswith("script-src"))
    assert "'unsafe-inline'" not in script_src and "'unsafe-eval'" not in script_src


def test_the_docs_start_up_script_is_a_script_of_ours():
    client = client_for(None)
    page = _Assets()
    page.feed(client.get("/api/v1/docs/").content.decode())
    start_up = next(url for url in page.urls if url.startswith("/api/v1/docs/"))

    response = client.get(start_up)

    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/javascript")
    assert b"/api/v1/schema/" in response.content


def test_an_unknown_api_path_is_a_404_in_the_error_shape():
    error = api_error(Client().get("/api/v1/no-such-thing/", HTTP_ACCEPT="text/html"), 404)

    assert error["code"] == "not_found"


def test_a_method_the_door_does_not_take_is_a_405_in_the_error_shape():
    response = post_json(Client(), "/api/v1/schema/", {})

    error = api_error(response, 405)
    assert error["code"] == "method_not_allowed"
    assert "GET" in response["Allow"]


def test_the_callers_request_id_comes_back_in_the_error():
    response = Client().get("/api/v1/no-such-thing/", HTTP_X_REQUEST_ID="trace-42")

    assert api_error(response, 404)["request_id"] == "trace-42"


@pytest.mark.urls("tests.restaurant.broken_urls")
def test_an_unhandled_crash_in_an_api_view_is_a_500_in_the_error_shape_without_internals():
    response = Client(raise_request_exception=False).get("/api/v1/boom/")

    error = api_error(response, 500)
    assert error["code"] == "server_error"
    assert b"hunter2" not in response.content and b"Traceback" not in response.content


# ---------------------------------------------------------------- the one limiter

LIMITED = "/api/v1/limited/"


@pytest.mark.urls("tests.restaurant.limited_api_urls")
def test_an_api_door_spends_the_pages_budget_and_answers_their_429_in_the_error_shape(
    actors, settings, small_menu
):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "cart": "100/m/session,100/m/ip,2/m/user"}
    app = client_for(actors.customer)
    browser = client_for(actors.customer)

    first = post_json(app, LIMITED, {})
    assert first.status_code == 200
    assert (first["RateLimit-Limit"], first["RateLimit-Remaining"]) == ("2", "1")
    # The cart page spends the same user budget: switching doors gives no fresh one.
    assert browser.post("/cart/add/", {"item": small_menu.fries.pk, "quantity": 1}).status_code == 302
    refused = post_json(app, LIMITED, {})

    error = api_error(refused, 429)
    assert error["code"] == "rate_limited"
    assert int(refused["Retry-After"]) > 0
    assert refused["RateLimit-Remaining"] == "0"


@pytest.mark.urls("tests.restaurant.limited_api_urls")
def test_a_caller_refused_for_rights_still_spends_the_address_budget(settings):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "cart": "2/m/ip"}
    anonymous = Client()

    statuses = [post_json(anonymous, LIMITED, {}).status_code for _ in range(3)]

    assert statuses == [401, 401, 429]


@pytest.mark.urls("tests.restaurant.limited_api_urls")
def test_reading_a_limited_door_spends_nothing(actors, settings):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "cart": "1/m/user"}
    app = client_for(actors.customer)

    answers = [app.get(LIMITED) for _ in range(3)]

    assert {answer.status_code for answer in answers} == {405}
    assert "RateLimit-Remaining" not in answers[-1]


# ---------------------------------------------------------------- every write door, a megabyte


def _write_doors() -> list[str]:
    from drf_spectacular.generators import SchemaGenerator

    schema = SchemaGenerator().get_schema(request=None, public=True)
    return sorted(route for route, methods in schema["paths"].items() if "post" in methods)


@pytest.mark.parametrize("route", _write_doors())
def test_a_one_megabyte_body_at_any_write_door_is_refused_in_the_error_shape_and_changes_nothing(
    route, actors, small_menu
):
    from accounts.models import Address, AppSession
    from kitchen.models import Ticket
    from orders.models import Order
    from tests.api import app_for

    app = app_for(actors.manager)
    counts = [model.objects.count() for model in (Order, Address, Ticket, AppSession)]
    path = re.sub(r"\{[a-z_]+\}", "1", route)

    response = app.post(path, '{"a": "' + "x" * 1_000_000 + '"}', content_type="application/json")

    assert 400 <= response.status_code < 500, (path, response.status_code)
    api_error(response, response.status_code)
    assert [model.objects.count() for model in (Order, Address, Ticket, AppSession)] == counts
