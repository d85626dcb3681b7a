from django.http import HttpRequest

from accounts.permissions import Capability, can


def roles(request: HttpRequest) -> dict[str, bool]:
    user = getattr(request, "user", None)
    return {
        "works_kitchen": user is not None and can(user, Capability.USE_KITCHEN_BOARD),
        "works_floor": user is not None and can(user, Capability.WORK_THE_FLOOR),
    }
