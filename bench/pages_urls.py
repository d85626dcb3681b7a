"""The product's URLs plus /bench/bare/, the floor `/menu/` is measured against.

The bare view goes through the same middleware on the same gunicorn and
returns a page of the menu's size, touching no database, cache or template:
what serving any page costs here before the menu does anything.
"""

from django.http import HttpRequest, HttpResponse
from django.urls import path

from restaurant.urls import (  # noqa: F401 - Django reads the handlers from the URLconf
    handler400,
    handler403,
    handler404,
    handler429,
    handler500,
)
from restaurant.urls import urlpatterns as product_urlpatterns

# About the demo menu page's size (21 kB), so both send the same bytes.
BARE_BODY = "<!DOCTYPE html><title>bare</title>\n" + ("<p>" + "x" * 200 + "</p>\n") * 100


def bare(request: HttpRequest) -> HttpResponse:
    return HttpResponse(BARE_BODY)


urlpatterns = [path("bench/bare/", bare), *product_urlpatterns]
