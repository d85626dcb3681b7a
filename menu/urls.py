from django.urls import path

from menu import views

app_name = "menu"

urlpatterns = [
    path("", views.menu_index, name="index"),
    path("menu/", views.menu_index, name="menu"),
    path("menu/<slug:slug>/", views.item_detail, name="item"),
]
