from django.urls import path

from kitchen import views

app_name = "kitchen"

urlpatterns = [
    path("kitchen/", views.board, name="board"),
    path("kitchen/tickets/<id:ticket_id>/move/", views.ticket_move_view, name="ticket_move"),
    path("kitchen/orders/<id:order_id>/hand-over/", views.order_hand_over_view, name="order_hand_over"),
    path("kitchen/<slug:station_slug>/", views.board, name="station"),
]
