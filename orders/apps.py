from django.apps import AppConfig


class OrdersConfig(AppConfig):
    name = "orders"

    def ready(self) -> None:
        # Celery's autodiscovery finds orders.tasks only, and only in a worker;
        # every task module is registered here, so every process (a web one
        # retrying a dead letter by name included) can find them.
        from menu.pages import page_part_register
        from orders import online_ordering
        from orders import tasks as core_tasks  # noqa: F401
        from orders.coupons import signals as coupon_signals
        from orders.coupons.selectors import coupon_banner_token
        from orders.inventory import tasks as inventory_tasks  # noqa: F401
        from orders.outbox import tasks as outbox_tasks  # noqa: F401
        from orders.outbox.services import outbox_subscribe
        from orders.partners import tasks as partners_tasks  # noqa: F401
        from orders.payments import tasks as payments_tasks  # noqa: F401
        from orders.subscribers import SUBSCRIPTIONS

        # The outbox is mechanism only: orders subscribes its consumers like any other app.
        for topic, handlers in SUBSCRIPTIONS.items():
            for handler in handlers:
                outbox_subscribe(topic, handler)

        # The coupon in the site banner is part of every menu page: saving a coupon bumps
        # the menu version, and the banner's own window is part of each page's ETag.
        coupon_signals.connect()
        page_part_register(coupon_banner_token)
        # So is the "not taking online orders" banner.
        online_ordering.connect()
