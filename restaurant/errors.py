"""The one domain error type. Services raise it; doors turn it into answers.

Each error has a stable machine-readable `code`, a message a person can act on
and optional `data`. Browser views show the message; programs get the one
JSON error body, built only by restaurant.error_views.error_json (it adds
the request id), with `status`.
"""

from __future__ import annotations

from typing import Any


class ApplicationError(Exception):
    status = 400
    default_code = "invalid"

    def __init__(self, message: str, *, code: str | None = None, data: dict[str, Any] | None = None):
        super().__init__(message)
        self.message = message
        self.code = code or self.default_code
        self.data = data or {}


class NotFound(ApplicationError):
    status = 404
    default_code = "not_found"


class Forbidden(ApplicationError):
    status = 403
    default_code = "forbidden"


class Conflict(ApplicationError):
    """Someone else changed the thing first; reload and try again."""

    status = 409
    default_code = "conflict"
