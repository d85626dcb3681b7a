"""The product's URLs plus /bench/bare-api/, the floor API order creation is measured against.

The bare view is DRF on the same gunicorn and middleware: it parses the same
JSON body and answers a fixed body of an order answer's size, with no
authentication, database, cache or service behind it.
"""

from typing import Any

from django.urls import path
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from restaurant.urls import (  # noqa: F401 - Django reads the handlers from the URLconf
    handler400,
    handler403,
    handler404,
    handler429,
    handler500,
)
from restaurant.urls import urlpatterns as product_urlpatterns

# About an order answer's size (1.6 kB for three lines).
BARE_ANSWER: dict[str, Any] = {
    "order": {"lines": [{"name": "x" * 100, "modifiers": []}] * 3},
    "padding": "x" * 1100,
}


class BareApi(APIView):
    authentication_classes = ()
    permission_classes = (AllowAny,)

    def post(self, request: Request) -> Response:
        request.data  # noqa: B018 - parsed, as the order door parses its body
        return Response(BARE_ANSWER, status=201)


urlpatterns = [path("bench/bare-api/", BareApi.as_view()), *product_urlpatterns]
