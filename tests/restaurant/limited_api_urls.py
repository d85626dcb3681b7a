"""A URLconf with one API door behind the "cart" budgets, to see the limiter from the API side."""

from django.urls import include, path
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response

from restaurant.api.views import ApiView


class LimitedApiView(ApiView):
    rate_limit = "cart"
    permission_classes = (IsAuthenticated,)

    def post(self, request: Request) -> Response:
        return Response({"ok": True})


urlpatterns = [path("api/v1/limited/", LimitedApiView.as_view()), path("", include("restaurant.urls"))]
