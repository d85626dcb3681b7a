"""The floor socket: /ws/floor/, for waiters and managers. Every floor page shares one stream."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from accounts.permissions import Capability, can
from accounts.roles import Actor
from orders.floor.live import FLOOR_GROUP
from orders.floor.selectors import floor_seq, floor_snapshot
from restaurant.sockets import LiveStateConsumer

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser

    from accounts.models import User


class FloorConsumer(LiveStateConsumer):
    def authorize(self, user: User | AnonymousUser) -> str | None:
        if not user.is_authenticated or not can(Actor.for_user(user), Capability.WORK_THE_FLOOR):
            return None
        return FLOOR_GROUP

    def snapshot(self) -> dict[str, Any]:
        return floor_snapshot()

    def current_seq(self) -> int:
        return floor_seq()
