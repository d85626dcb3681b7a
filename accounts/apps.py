from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"

    def ready(self) -> None:
        from django.db.models.signals import post_migrate

        # Imported for their receivers: the security log, session lifetimes,
        # and closing sockets whose right has ended.
        from accounts import session_policy, signals, socket_access  # noqa: F401
        from accounts.role_groups import sync_after_migrate

        # Roles follow accounts.permissions after every migrate (and test flush).
        post_migrate.connect(sync_after_migrate, dispatch_uid="accounts.role_groups")
