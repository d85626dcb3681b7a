"""Every API failure as the one JSON error body: {"error": {"code", "message", "data", "request_id"}}.

DRF's own exceptions (validation, authentication, permission, 404, 405,
parsing) and the domain's ApplicationError become that body here, built by
restaurant.error_views.error_json like every other JSON error of the site.
Anything else propagates to Django's handler500 (restaurant.error_views),
which answers an /api/ path with the same body (500, or 503 when the
database is away), so no traceback or exception text ever reaches a client.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404, HttpResponse
from rest_framework import exceptions, status
from rest_framework.settings import api_settings

from restaurant.error_views import error_json
from restaurant.errors import ApplicationError
from restaurant.rate_limits import Standing, too_many_requests

# DRF exception -> (code, message) of the one shape. Codes are stable: clients branch on them.
_DRF_ERRORS: dict[type[exceptions.APIException], tuple[str, str]] = {
    exceptions.ParseError: ("malformed_body", "The request body is not valid JSON."),
    exceptions.NotAuthenticated: ("not_authenticated", "Sign in, or send a valid token or API key."),
    exceptions.AuthenticationFailed: (
        "authentication_failed",
        "The credentials sent are not valid (expired, revoked or unknown).",
    ),
    exceptions.PermissionDenied: ("forbidden", "You do not have access to this."),
    exceptions.NotFound: ("not_found", "Not found."),
    exceptions.MethodNotAllowed: ("method_not_allowed", "This method is not allowed here."),
    exceptions.NotAcceptable: ("not_acceptable", "This resource answers in JSON only."),
    exceptions.UnsupportedMediaType: ("unsupported_media_type", "Send the body as application/json."),
}

VALIDATION_MESSAGE = "Some fields are not valid; see data.fields."


class RateLimited(exceptions.APIException):
    """A door's budget is spent (restaurant.api.views.ApiView); answered as the pages' 429."""

    status_code = status.HTTP_429_TOO_MANY_REQUESTS
    default_code = "rate_limited"

    def __init__(self, standing: Standing) -> None:
        super().__init__()
        self.standing = standing


class BodyTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = "The request body is too large."
    default_code = "too_large"


def _answer(exc: exceptions.APIException, code: str, message: str, data: dict[str, Any]) -> HttpResponse:
    response = error_json(exc.status_code, code, message, data)
    # What DRF would have set: 401's challenge, 405's Allow (set by the view), 429's Retry-After.
    if isinstance(exc, exceptions.NotAuthenticated | exceptions.AuthenticationFailed):
        challenge = getattr(exc, "auth_header", None)
        if challenge:
            response["WWW-Authenticate"] = challenge
    wait = getattr(exc, "wait", None)
    if wait is not None:
        response["Retry-After"] = str(max(int(wait), 1))
    return response


def api_exception_handler(exc: Exception, context: dict[str, Any]) -> HttpResponse | None:
    """REST_FRAMEWORK["EXCEPTION_HANDLER"]: the one shape, or None to let handler500 answer."""
    if isinstance(exc, RateLimited):
        return too_many_requests(context["request"]._request, exc.standing)
    if isinstance(exc, ApplicationError):
        response = error_json(exc.status, exc.code, exc.message, exc.data)
        retry_after = getattr(exc, "retry_after", None)
        if retry_after is not None:
            response["Retry-After"] = str(retry_after)
        return response
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    if not isinstance(exc, exceptions.APIException):
        return None
    if isinstance(exc, exceptions.ValidationError):
        detail = exc.detail
        fields = detail if isinstance(detail, dict) else {api_settings.NON_FIELD_ERRORS_KEY: detail}
        return _answer(exc, "invalid", VALIDATION_MESSAGE, {"fields": fields})
    for kind, (code, message) in _DRF_ERRORS.items():
        if isinstance(exc, kind):
            return _answer(exc, code, message, {})
    # Any other APIException (ours, a library's): its own code and words, never a traceback.
    codes = exc.get_codes()
    return _answer(exc, codes if isinstance(codes, str) else "error", str(exc.detail), {})
