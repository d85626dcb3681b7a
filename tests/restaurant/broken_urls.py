"""A URLconf with one view that fails, to see what a visitor gets for a 500."""

from django.http import HttpRequest, HttpResponse
from django.urls import include, path


def explode(request: HttpRequest) -> HttpResponse:
    raise RuntimeError("secret internals: /srv/brigade/settings.py password=hunter2")


urlpatterns = [path("boom/", explode), path("", include("restaurant.urls"))]

handler500 = "restaurant.error_views.server_error"
