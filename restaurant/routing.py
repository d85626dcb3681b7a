"""Websocket URL patterns of every app, in one list for restaurant.asgi."""

from django.urls import path

from kitchen.consumers import KitchenBoardConsumer
from orders.consumers import OrderTrackerConsumer
from orders.floor.consumers import FloorConsumer

websocket_urlpatterns = [
    path("ws/orders/<str:token>/", OrderTrackerConsumer.as_asgi()),
    path("ws/kitchen/", KitchenBoardConsumer.as_asgi()),
    path("ws/floor/", FloorConsumer.as_asgi()),
]
