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
        from orders.floor import events as floor_events
        from orders.inventory import tasks as inventory_tasks  # noqa: F401
        from orders.outbox import tasks as outbox_tasks  # noqa: F401
        from orders.outbox.services import outbox_on_record, outbox_subscribe
        from orders.pacing import signals as pacing_signals
        from orders.partners import tasks as partners_tasks  # noqa: F401
        from orders.payments import tasks as payments_tasks  # noqa: F401
        from orders.subscribers import LIVE_CONSUMERS, SUBSCRIPTIONS

        # The outbox is mechanism only: orders subscribes its consumers like any other app.
        for topic, handlers in SUBSCRIPTIONS.items():
            for handler in handlers:
                outbox_subscribe(topic, handler, live=handler in LIVE_CONSUMERS)

        # The live floor numbers every change of an order in the transaction that makes it,
        # and, should that fail, when the change is published. Registered before the
        # kitchen's recorders (orders is installed first): the floor's row lock is
        # taken before the board's in every transaction (orders.floor.services).
        for topic in floor_events.ORDER_TOPICS:
            outbox_on_record(topic, floor_events.floor_with_order_event, fallback=floor_events.on_order_event)
        outbox_subscribe(floor_events.FLOOR_TOPIC, floor_events.on_floor_changed, live=True)

        # The coupon in the site banner is part of every menu page: saving a coupon bumps
        # the menu version, and the banner's own window is part of each page's ETag.
        coupon_signals.connect()
        page_part_register(coupon_banner_token)
        # So is the "not taking online orders" banner.
        online_ordering.connect()
        # Every quote reads the pacing rules from the cache: their saves move its version.
        pacing_signals.connect()
