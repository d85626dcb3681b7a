from django.urls import path

from orders import floor_views, views

app_name = "orders"

urlpatterns = [
    path("cart/", views.cart_view, name="cart"),
    path("cart/add/", views.cart_add, name="cart_add"),
    path("cart/update/", views.cart_update, name="cart_update"),
    path("cart/remove/", views.cart_remove, name="cart_remove"),
    path("checkout/", views.checkout, name="checkout"),
    path("floor/", floor_views.floor, name="floor"),
    path("floor/orders/<int:order_id>/", floor_views.floor_action, name="floor_action"),
    path("orders/", views.my_orders, name="mine"),
    path("orders/<str:token>/", views.order_detail, name="detail"),
    path("orders/<str:token>/cancel/", views.order_cancel_view, name="cancel"),
]
