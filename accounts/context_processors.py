from django.http import HttpRequest

from accounts.roles import Role, roles_of


def roles(request: HttpRequest) -> dict[str, bool]:
    user = getattr(request, "user", None)
    user_roles = roles_of(user) if user is not None else frozenset()
    return {"works_kitchen": bool(user_roles & {Role.CHEF, Role.MANAGER})}
