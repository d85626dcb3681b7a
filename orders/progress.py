"""The customer's view of an order's way: paid, cooking, ready, handed over.

The order page draws it (an ordered list, the step reached marked with
aria-current="step") and static/js/order-live.js moves it as the status
changes; both read the steps from here, the script through the page's markup.
"""

from __future__ import annotations

from dataclasses import dataclass

from orders.models import OrderStatus

# status -> what the customer reads for that step, in the order they come.
STEPS: tuple[tuple[str, str], ...] = (
    (OrderStatus.PAID, "Paid"),
    (OrderStatus.IN_PREPARATION, "Cooking"),
    (OrderStatus.READY, "Ready"),
    (OrderStatus.COMPLETED, "Handed over"),
)
# Statuses that leave the way: the page shows its status, not the steps.
OFF_THE_WAY = frozenset({OrderStatus.CANCELLED, OrderStatus.REFUNDED})


@dataclass(frozen=True)
class Step:
    status: str
    label: str
    # "done", "current" or "todo".
    state: str


def progress_steps(status: str) -> list[Step]:
    """Each step and where the order is on it; none reached while it awaits payment."""
    reached = next((at for at, (step, _) in enumerate(STEPS) if step == status), -1)
    return [
        Step(step, label, "done" if at < reached else "current" if at == reached else "todo")
        for at, (step, label) in enumerate(STEPS)
    ]
