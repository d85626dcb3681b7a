"""400/403/404/429/500/503 answers: a friendly page for people, one JSON shape for programs.

Nothing about the failure's cause (exception text, paths, settings) is ever
included; the request id lets staff find the details in the logs.
"""

from __future__ import annotations

import sys
from typing import Any

from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.template import loader

from restaurant.observability import current_request_id

RETRY_AFTER_SECONDS = 300
# A database restart or fail-over takes seconds: ask clients back soon.
DATABASE_RETRY_AFTER_SECONDS = 5

_MESSAGES = {
    400: ("bad_request", "The request could not be understood."),
    403: ("forbidden", "You do not have access to this."),
    404: ("not_found", "Not found."),
    429: ("rate_limited", "Too many attempts. Please wait a few minutes and try again."),
    500: ("server_error", "Something went wrong on our side. Please try again in a moment."),
    503: ("unavailable", "We cannot take requests for a moment. Please try again in a few seconds."),
}


def wants_json(request: HttpRequest) -> bool:
    accept = request.headers.get("Accept", "")
    return request.path.startswith("/api/") or ("application/json" in accept and "text/html" not in accept)


def error_json(status: int, code: str, message: str, data: dict[str, Any] | None = None) -> JsonResponse:
    """The one JSON error body: {"error": {"code", "message", "data", "request_id"}}."""
    return JsonResponse(
        {"error": {"code": code, "message": message, "data": data or {}, "request_id": current_request_id()}},
        status=status,
    )


def error_response(request: HttpRequest, status: int, retry_after: int | None = None) -> HttpResponse:
    code, message = _MESSAGES[status]
    if wants_json(request):
        response: HttpResponse = error_json(status, code, message)
    elif status >= 500:
        # Rendered without the request: the failure may lie in what a
        # context processor needs (the database, for the signed-in user).
        response = HttpResponse(loader.get_template(f"{status}.html").render(), status=status)
    else:
        response = render(request, f"{status}.html", {"message": message}, status=status)
    if retry_after is not None:
        response["Retry-After"] = str(retry_after)
    return response


def bad_request(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return error_response(request, 400)


def permission_denied(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return error_response(request, 403)


def page_not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return error_response(request, 404)


def too_many_requests(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return error_response(request, 429, retry_after=RETRY_AFTER_SECONDS)


def database_unreachable(exc: BaseException | None) -> bool:
    """Whether the failure is the database not answering (down, restarting, refusing connections).

    OperationalError and InterfaceError are what Django raises when it cannot
    reach the server, loses the connection, or the server is starting or
    shutting down; also a lock that would not come (SQLite's "database is
    locked"), which is as temporary. Bugs in queries are other classes.
    """
    pending, seen = [exc], set()
    # Chains can loop (an exception raised again while it is handled): each link is looked at once.
    while pending:
        link = pending.pop()
        if link is None or id(link) in seen:
            continue
        if isinstance(link, OperationalError | InterfaceError):
            return True
        seen.add(id(link))
        pending += [link.__cause__, link.__context__]
    return False


def server_error(request: HttpRequest) -> HttpResponse:
    # Django calls this handler from inside its `except` block for any
    # exception a view or a middleware let through, so the exception is at hand.
    if database_unreachable(sys.exc_info()[1]):
        return error_response(request, 503, retry_after=DATABASE_RETRY_AFTER_SECONDS)
    return error_response(request, 500)
