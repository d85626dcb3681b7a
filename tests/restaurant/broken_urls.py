"""A URLconf with one view that fails, to see what a visitor gets for a 500."""

from django.http import HttpRequest, HttpResponse
from django.urls import include, path
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView


def explode(request: HttpRequest) -> HttpResponse:
    raise RuntimeError("secret internals: /srv/brigade/settings.py password=hunter2")


class ExplodingApiView(APIView):
    permission_classes = ()

    def get(self, request: Request) -> Response:
        raise RuntimeError("secret internals: /srv/brigade/settings.py password=hunter2")


urlpatterns = [
    path("boom/", explode),
    path("api/v1/boom/", ExplodingApiView.as_view()),
    path("", include("restaurant.urls")),
]

handler500 = "restaurant.error_views.server_error"
