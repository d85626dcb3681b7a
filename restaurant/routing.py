"""Websocket URL patterns of every app, in one list for restaurant.asgi."""

websocket_urlpatterns: list = []
