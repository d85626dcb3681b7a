"""/api/v1/: the versioned API, its OpenAPI schema and its docs page.

A later, incompatible version gets its own prefix and module; v1 keeps
answering as documented in docs/api.md.
"""

from __future__ import annotations

from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

app_name = "api"

urlpatterns = [
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    # The split view serves its start-up script as a file of ours instead of
    # an inline <script>, which the site's Content-Security-Policy refuses.
    path("docs/", SpectacularSwaggerSplitView.as_view(url_name="api:schema"), name="docs"),
    path("", include("accounts.api")),
    path("", include("menu.api")),
    path("", include("orders.api")),
    path("", include("kitchen.api")),
]
