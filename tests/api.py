"""Knocking on the REST API as its clients do, and reading its one error shape."""

from __future__ import annotations

import json
from typing import Any

from django.test import Client

from accounts.models import User
from tests.conftest import client_for

ERROR_KEYS = {"code", "message", "data", "request_id"}


def api_error(response: Any, status: int) -> dict[str, Any]:
    """The error body of an answer that must be `status` in the one shape; returns its "error"."""
    assert response.status_code == status, (response.status_code, response.content[:500])
    assert response["Content-Type"].startswith("application/json"), response["Content-Type"]
    body = response.json()
    assert set(body) == {"error"}, body
    error = body["error"]
    assert set(error) == ERROR_KEYS, error
    assert isinstance(error["code"], str) and error["code"]
    assert isinstance(error["message"], str) and error["message"]
    assert isinstance(error["data"], dict)
    assert error["request_id"] == response["X-Request-ID"]
    return error


def post_json(client: Client, path: str, body: Any, **headers: Any) -> Any:
    return client.post(path, json.dumps(body), content_type="application/json", **headers)


def browser_for(user: User | None) -> Client:
    """A signed-in browser that sends its CSRF token, as the site's own pages do."""
    client = client_for(user)
    client.handler.enforce_csrf_checks = True
    return client


def app_for(user: User) -> Client:
    """A mobile app signed in as `user`: its requests carry a fresh access token."""
    from accounts.services import app_session_start

    return Client(HTTP_AUTHORIZATION=f"Bearer {app_session_start(user=user).access}")


def partner_app(header: str) -> Client:
    """A delivery partner's program calling with its key (the Authorization header value)."""
    return Client(HTTP_AUTHORIZATION=header)
