from django.urls import include, path

from orders import floor_views, views
from orders.floor import views as table_views
from orders.payments import views as payment_views

app_name = "orders"

urlpatterns = [
    path("cart/", views.cart_view, name="cart"),
    path("cart/add/", views.cart_add, name="cart_add"),
    path("cart/update/", views.cart_update, name="cart_update"),
    path("cart/remove/", views.cart_remove, name="cart_remove"),
    path("checkout/", views.checkout, name="checkout"),
    path("checkout/coupon/", views.checkout_coupon, name="checkout_coupon"),
    path("checkout/coupon/remove/", views.checkout_coupon_remove, name="checkout_coupon_remove"),
    path("floor/", floor_views.floor, name="floor"),
    path("floor/orders/<id:order_id>/", floor_views.floor_action, name="floor_action"),
    path("floor/tabs/", include("orders.tabs.urls")),
    path("t/<str:token>/", table_views.table_link, name="table_link"),
    path("orders/", views.my_orders, name="mine"),
    path("orders/<str:token>/", views.order_detail, name="detail"),
    path("orders/<str:token>/cancel/", views.order_cancel_view, name="cancel"),
    path("orders/<str:token>/again/", views.order_again, name="again"),
    path("orders/<str:token>/pay/", payment_views.pay, name="pay"),
    path("sandbox/pay/<str:reference>/", payment_views.sandbox_checkout, name="sandbox_checkout"),
    path("webhooks/payments/<str:provider>/", payment_views.payment_webhook, name="payment_webhook"),
]
