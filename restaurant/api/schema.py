"""drf-spectacular's AutoSchema, naming nested serializers after the view that holds them.

Every API view keeps its own `Input` and `Output` serializers nested in it
(HackSoftware's styleguide); drf-spectacular names components by class name
alone, so every `Output` would be one component. Here `MenuApi.Output` is
the component `MenuApiOutput`.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular import openapi
from drf_spectacular.extensions import OpenApiAuthenticationExtension


class AutoSchema(openapi.AutoSchema):
    def get_serializer_name(self, serializer: Any, direction: str) -> str:
        return str(type(serializer).__qualname__.replace(".", ""))


class AppTokenScheme(OpenApiAuthenticationExtension):
    target_class = "accounts.authentication.AppTokenAuthentication"
    name = "appToken"

    def get_security_definition(self, auto_schema: Any) -> dict[str, Any]:
        return {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}


class PartnerKeyScheme(OpenApiAuthenticationExtension):
    target_class = "orders.partners.authentication.PartnerKeyAuthentication"
    name = "partnerKey"

    def get_security_definition(self, auto_schema: Any) -> dict[str, Any]:
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": "`Api-Key <prefix>.<secret>`, as shown once in admin.",
        }


ERROR_COMPONENT = {
    "type": "object",
    "required": ["error"],
    "additionalProperties": False,
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message", "data", "request_id"],
            "additionalProperties": False,
            "properties": {
                "code": {"type": "string", "description": "Stable; programs branch on it."},
                "message": {"type": "string", "description": "For people; may change."},
                "data": {"type": "object", "additionalProperties": True},
                "request_id": {"type": "string"},
            },
        }
    },
}


def error_responses(result: dict[str, Any], generator: Any, request: Any, public: bool) -> dict[str, Any]:
    """POSTPROCESSING_HOOKS: the one error shape, as every operation's answer for any 4xx and 5xx."""
    result.setdefault("components", {}).setdefault("schemas", {})["Error"] = ERROR_COMPONENT
    error = {
        "description": "Any 4xx or 5xx: the one error shape (docs/api.md, Errors).",
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
    }
    for operations in result.get("paths", {}).values():
        for operation in operations.values():
            if isinstance(operation, dict) and "responses" in operation:
                operation["responses"].setdefault("4XX", error)
                operation["responses"].setdefault("5XX", error)
    return result
