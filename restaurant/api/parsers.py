"""JSON bodies, bounded: a body larger than API_MAX_BODY_BYTES is refused before it is read."""

from __future__ import annotations

import io
from typing import IO, Any

from django.conf import settings
from rest_framework.parsers import JSONParser

from restaurant.api.errors import BodyTooLarge


class BoundedJSONParser(JSONParser):
    def parse(self, stream: IO[Any], media_type: str | None = None, parser_context: Any = None) -> Any:
        request = (parser_context or {}).get("request")
        declared = request.META.get("CONTENT_LENGTH", "") if request is not None else ""
        limit = settings.API_MAX_BODY_BYTES
        # A body without a length (chunked) is read up to the limit and no further.
        if declared.isdigit() and int(declared) > limit:
            raise BodyTooLarge()
        body = stream.read(limit + 1) if stream is not None else b""
        if len(body) > limit:
            raise BodyTooLarge()
        return super().parse(io.BytesIO(body), media_type, parser_context)
