from django.urls import path

from accounts import profile_views

app_name = "account_profile"

urlpatterns = [
    path("account/", profile_views.profile, name="index"),
    path("account/addresses/", profile_views.address_add, name="address_add"),
    path("account/addresses/<id:pk>/", profile_views.address_edit, name="address_edit"),
    path("account/addresses/<id:pk>/delete/", profile_views.address_delete, name="address_delete"),
    path("account/addresses/<id:pk>/default/", profile_views.address_set_default, name="address_default"),
]
