"""The order tracking socket: /ws/orders/<tracking token>/, for the order's owner or token holder."""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from typing import TYPE_CHECKING, Any

from orders.live import order_group, order_snapshot
from orders.models import Order
from orders.selectors import order_id_for_viewer, order_versions
from restaurant.sockets import LiveStateConsumer

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser

    from accounts.models import User


class OrderTrackerConsumer(LiveStateConsumer):
    order_id: int | None = None

    def authorize(self, user: User | AnonymousUser) -> str | None:
        token = self.scope["url_route"]["kwargs"]["token"]
        # The same answer for a wrong token and someone else's order: nothing leaks.
        order_id = order_id_for_viewer(tracking_token=token, user=user)
        if order_id is None:
            return None
        self.order_id = order_id
        return order_group(order_id)

    def snapshot(self) -> dict[str, Any]:
        return order_snapshot(Order.objects.get(pk=self.order_id))  # type: ignore[misc]  # set by authorize

    def current_seq(self) -> int:
        return Order.objects.values_list("version", flat=True).get(pk=self.order_id)  # type: ignore[misc]

    # A guest's page pings with the others of its process: one query for all their orders.
    def seq_key(self) -> Hashable:
        return self.order_id

    @classmethod
    def current_seqs(cls, keys: frozenset[Hashable]) -> Mapping[Any, int]:
        return order_versions(order_ids=[key for key in keys if isinstance(key, int)])
