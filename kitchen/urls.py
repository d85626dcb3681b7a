from django.urls import path

from kitchen import views

app_name = "kitchen"

urlpatterns = [
    path("kitchen/", views.board, name="board"),
    path("kitchen/orders/<int:order_id>/move/", views.move, name="move"),
]
