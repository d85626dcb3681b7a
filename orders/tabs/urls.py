"""/floor/tabs/…: included by orders.urls, so the names are orders:tab_…"""

from django.urls import path

from orders.tabs import views

urlpatterns = [
    path("", views.tabs_open, name="tabs_open"),
    path("<id:tab_id>/", views.bill, name="tab_bill"),
    path("<id:tab_id>/pay/", views.pay, name="tab_pay"),
    path("<id:tab_id>/pay-online/", views.pay_online, name="tab_pay_online"),
    path("<id:tab_id>/rounds/<id:order_id>/remove/", views.round_remove, name="tab_round_remove"),
]
