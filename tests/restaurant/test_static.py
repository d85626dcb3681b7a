"""Static files are served by the app itself under hashed names, cached for good."""

from __future__ import annotations

import re

import pytest

pytestmark = pytest.mark.django_db


def test_pages_link_hashed_static_files_served_with_a_long_cache(client):
    page = client.get("/").content.decode()
    css = re.search(r'href="(/static/css/brigade\.[0-9a-f]{12}\.css)"', page)
    assert css, "the stylesheet is linked by its hashed name"

    response = client.get(css.group(1))

    assert response.status_code == 200
    assert "immutable" in response["Cache-Control"]
    assert int(re.search(r"max-age=(\d+)", response["Cache-Control"]).group(1)) >= 31536000
    body = b"".join(response.streaming_content) if response.streaming else response.content
    assert b".site-header" in body


def test_an_unknown_page_gets_the_friendly_404(client):
    response = client.get("/no/such/page/")
    assert response.status_code == 404
    assert "We could not find that page" in response.content.decode()
