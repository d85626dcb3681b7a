from django.apps import AppConfig


class KitchenConfig(AppConfig):
    name = "kitchen"

    def ready(self) -> None:
        # orders publishes its events; the kitchen subscribes here, so orders never imports kitchen.
        from kitchen import (
            events,
            tasks,  # noqa: F401 - registered in web processes too, like orders' tasks
        )
        from menu.changes import menu_listen
        from orders.outbox.services import outbox_on_record, outbox_subscribe

        # Tickets are made in the paying transaction; if that ever fails, when
        # "order paid" is published.
        outbox_on_record("order.paid", events.tickets_with_payment, fallback=events.on_order_paid)
        # A table's round put on its tab reaches the board as a paid order does.
        outbox_on_record("order.on_tab", events.tickets_with_payment, fallback=events.on_order_paid)
        outbox_subscribe("order.refunded", events.on_order_refunded)
        # Only a round taken off its tab is cancelled with tickets on the board.
        outbox_subscribe("order.cancelled", events.on_order_refunded)
        outbox_subscribe("order.completed", events.on_order_completed)
        outbox_subscribe("kitchen.tickets", events.on_tickets_changed, live=True)
        # menu cannot tell the kitchen what it stopped selling, only that it changed.
        menu_listen(events.on_menu_changed)
        outbox_subscribe("kitchen.sold_out", events.on_sold_out_changed, live=True)
