"""400/403/404/429/500 answers: a friendly page for people, one JSON shape for programs.

Nothing about the failure's cause (exception text, paths, settings) is ever
included; the request id lets staff find the details in the logs.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.template import loader

from restaurant.observability import current_request_id

RETRY_AFTER_SECONDS = 300

_MESSAGES = {
    400: ("bad_request", "The request could not be understood."),
    403: ("forbidden", "You do not have access to this."),
    404: ("not_found", "Not found."),
    429: ("rate_limited", "Too many attempts. Please wait a few minutes and try again."),
    500: ("server_error", "Something went wrong on our side. Please try again in a moment."),
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
    elif status == 500:
        # Rendered without the request: the failure may lie in what a
        # context processor needs.
        response = HttpResponse(loader.get_template("500.html").render(), status=500)
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


def server_error(request: HttpRequest) -> HttpResponse:
    return error_response(request, 500)
