"""Websocket URL patterns of every app, in one list for restaurant.asgi."""

from django.urls import path

from orders.consumers import OrderTrackerConsumer

websocket_urlpatterns = [
    path("ws/orders/<str:token>/", OrderTrackerConsumer.as_asgi()),
]
