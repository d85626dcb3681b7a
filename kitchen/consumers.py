"""The board socket: /ws/kitchen/, for chefs and managers. Every board view shares one stream."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from accounts.permissions import Capability, can
from accounts.roles import Actor
from kitchen.live import BOARD_GROUP
from kitchen.selectors import board_seq, board_snapshot
from restaurant.sockets import LiveStateConsumer

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser

    from accounts.models import User


class KitchenBoardConsumer(LiveStateConsumer):
    def authorize(self, user: User | AnonymousUser) -> str | None:
        if not user.is_authenticated or not can(Actor.for_user(user), Capability.USE_KITCHEN_BOARD):
            return None
        return BOARD_GROUP

    def snapshot(self) -> dict[str, Any]:
        return board_snapshot()

    def current_seq(self) -> int:
        return board_seq()
