"""Request ids, structured logs and error reporting.

A request id is taken from X-Request-ID when the caller sends a sane one (so a
proxy's id follows the request) or made fresh, returned in the response, and
attached to every log line written while the request runs.
"""

from __future__ import annotations

import logging
import re
import time
import uuid
from collections.abc import Callable
from contextvars import ContextVar
from typing import Any

from django.http import HttpRequest, HttpResponse

REQUEST_ID_HEADER = "X-Request-ID"
# Anything else (too long, odd characters) could forge or break log lines.
_SAFE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")

request_id_var: ContextVar[str] = ContextVar("request_id", default="")

access_log = logging.getLogger("brigade.access")


def current_request_id() -> str:
    return request_id_var.get()


def new_request_id() -> str:
    return uuid.uuid4().hex


class RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if not getattr(record, "request_id", None):
            record.request_id = request_id_var.get() or None
        return True


def _route_of(request: HttpRequest) -> str | None:
    match = getattr(request, "resolver_match", None)
    return match.route if match is not None else None


class RequestIdMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        incoming = request.headers.get(REQUEST_ID_HEADER, "")
        request_id = incoming if _SAFE_REQUEST_ID.match(incoming) else new_request_id()
        request.request_id = request_id  # type: ignore[attr-defined]
        token = request_id_var.set(request_id)
        started = time.monotonic()
        try:
            response = self.get_response(request)
            response[REQUEST_ID_HEADER] = request_id
            access_log.info(
                "request finished",
                extra={
                    "method": request.method,
                    # The route, never the path: a path can hold an order's
                    # tracking token or a password-reset key, and logs are
                    # read by more people than may hold those.
                    "route": _route_of(request),
                    "status": response.status_code,
                    "duration_ms": round((time.monotonic() - started) * 1000, 1),
                },
            )
            return response
        finally:
            request_id_var.reset(token)


def sentry_scrub_paths(event: dict[str, Any], hint: dict[str, Any]) -> dict[str, Any]:
    """Reports name the route, never the path or query: those can hold tracking tokens.

    The Django integration names each transaction by its URL pattern
    ("/orders/{token}/"), which is what a person needs to find the code.
    """
    request = event.get("request")
    if isinstance(request, dict):
        request["url"] = event.get("transaction") or ""
        request.pop("query_string", None)
    return event


def init_sentry(*, dsn: str, environment: str) -> None:
    import sentry_sdk
    from sentry_sdk.integrations.celery import CeleryIntegration
    from sentry_sdk.integrations.django import DjangoIntegration

    from restaurant.env import env_float, env_str

    sentry_sdk.init(
        dsn=dsn,
        environment=environment,
        release=env_str("SENTRY_RELEASE") or None,
        integrations=[DjangoIntegration(), CeleryIntegration()],
        # Customers' names, emails and addresses stay out of error reports.
        send_default_pii=False,
        before_send=sentry_scrub_paths,  # type: ignore[arg-type]  # sentry types its events as a TypedDict
        traces_sample_rate=env_float("SENTRY_TRACES_SAMPLE_RATE", 0.0),
    )
