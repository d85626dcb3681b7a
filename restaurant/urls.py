from django.conf import settings
from django.contrib import admin
from django.urls import include, path, re_path, register_converter
from django.views.static import serve

from accounts import views as sign_in
from restaurant import health
from restaurant.converters import DatabaseIdConverter

# Before the apps' urls are included: their `<id:...>` routes need it.
register_converter(DatabaseIdConverter, "id")

admin.site.site_header = f"{settings.BRIGADE_RESTAURANT_NAME} — management"
admin.site.site_title = "Brigade admin"
admin.site.index_title = "Run the restaurant"

urlpatterns = [
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path(settings.ADMIN_PATH, admin.site.urls),
    path("api/v1/", include("restaurant.api.urls")),
    # allauth's sign-in doors, each behind the one limiter (accounts.sign_in_limits).
    path("accounts/login/", sign_in.RateLimitedLoginView.as_view(), name="account_login"),
    path("accounts/signup/", sign_in.RateLimitedSignupView.as_view(), name="account_signup"),
    path(
        "accounts/password/reset/",
        sign_in.RateLimitedPasswordResetView.as_view(),
        name="account_reset_password",
    ),
    path(
        "accounts/reauthenticate/",
        sign_in.RateLimitedReauthenticateView.as_view(),
        name="account_reauthenticate",
    ),
    path(
        "accounts/2fa/authenticate/",
        sign_in.RateLimitedMFAAuthenticateView.as_view(),
        name="mfa_authenticate",
    ),
    path(
        "accounts/2fa/reauthenticate/",
        sign_in.RateLimitedMFAReauthenticateView.as_view(),
        name="mfa_reauthenticate",
    ),
    path("accounts/", include("allauth.urls")),
    path("", include("accounts.urls")),
    path("", include("menu.urls")),
    path("", include("orders.urls")),
    path("", include("kitchen.urls")),
]

if settings.BRIGADE_SERVE_MEDIA:
    media_prefix = settings.MEDIA_URL.lstrip("/")
    urlpatterns += [
        re_path(rf"^{media_prefix}(?P<path>.*)$", serve, {"document_root": settings.MEDIA_ROOT}),
    ]

handler400 = "restaurant.error_views.bad_request"
handler403 = "restaurant.error_views.permission_denied"
handler404 = "restaurant.error_views.page_not_found"
handler429 = "restaurant.error_views.too_many_requests"
handler500 = "restaurant.error_views.server_error"
