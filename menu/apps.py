from django.apps import AppConfig


class MenuConfig(AppConfig):
    name = "menu"

    def ready(self) -> None:
        from menu import signals

        # Every write that changes what the menu shows bumps its version (menu.cache).
        signals.connect()
