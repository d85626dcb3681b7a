"""A crash shows people a friendly page and programs a stable JSON body; never internals."""

from __future__ import annotations

import pytest
from django.test import Client

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.restaurant.broken_urls")]


def test_a_crash_shows_a_friendly_page_without_internals():
    client = Client(raise_request_exception=False)

    response = client.get("/boom/")

    assert response.status_code == 500
    body = response.content.decode()
    assert "Something went wrong" in body
    assert "secret internals" not in body and "hunter2" not in body and "Traceback" not in body


def test_a_crash_answers_an_api_client_in_json_without_internals():
    client = Client(raise_request_exception=False)

    response = client.get("/boom/", HTTP_ACCEPT="application/json")

    assert response.status_code == 500
    assert response.json()["error"]["code"] == "server_error"
    assert "hunter2" not in response.content.decode()
