"""A task that keeps failing ends as a dead letter that a manager can retry."""

from __future__ import annotations

import socket

import pytest
from django.core import mail
from django.urls import reverse

from accounts.roles import Actor
from orders.models import DeadLetter, OrderStatus
from orders.pricing import CartLine
from orders.services import OrderDetails, order_place, order_transition
from tests.conftest import client_for

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("eager_tasks")]


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _paid_order(menu, django_capture_on_commit_callbacks):
    order, _ = order_place(
        lines=[CartLine(menu.fries.pk, 1)],
        details=OrderDetails(order_type="pickup", contact_name="A", contact_email="a@example.test"),
        actor=Actor.guest(),
    )
    with django_capture_on_commit_callbacks(execute=True):
        order_transition(order=order, to_status=OrderStatus.PAID, actor=Actor.system("test"))
    return order


def test_an_email_relay_that_never_answers_ends_in_a_dead_letter_that_a_manager_retries(
    settings, small_menu, actors, django_capture_on_commit_callbacks
):
    # Given an email relay nobody listens on
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_USE_TLS = "127.0.0.1", _closed_port(), False

    # When an order is paid, the confirmation email task tries and gives up
    _paid_order(small_menu, django_capture_on_commit_callbacks)

    # Then one dead letter says what failed, after every try
    letter = DeadLetter.objects.get()
    assert letter.task_name == "orders.tasks.send_order_confirmation"
    assert letter.error.startswith("ConnectionRefusedError")
    assert letter.attempts == 9

    manager = client_for(actors.manager)
    assert (
        "send_order_confirmation"
        in manager.get(reverse("admin:orders_deadletter_changelist")).content.decode()
    )

    # When the relay is back and the manager retries from admin
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    with django_capture_on_commit_callbacks(execute=True):
        response = manager.post(
            reverse("admin:orders_deadletter_changelist"),
            {"action": "retry", "_selected_action": [letter.pk]},
        )

    # Then the email goes out, once, and the letter is marked retried
    assert response.status_code == 302
    assert len(mail.outbox) == 1
    letter.refresh_from_db()
    assert letter.retried_at is not None
