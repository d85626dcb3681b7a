"""Partner webhook URLs cannot point inside our network: refused when saved, and when sent after DNS.

None of the non-loopback addresses below is ever connected to: they are
only validated. The sends go to a receiver on 127.0.0.1 (or to nothing).
"""

from __future__ import annotations

import socket

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from accounts.roles import Actor
from orders.models import DeadLetter, Order, OrderStatus, Partner, PartnerDelivery, PartnerDeliveryStatus
from orders.partners.services import REFUSED_ERROR
from orders.partners.url_checks import HTTPS_MESSAGE, INTERNAL_MESSAGE
from orders.pricing import CartLine
from orders.services import OrderDetails, order_place, order_transition
from tests.conftest import client_for
from tests.harness import webhook_receiver as receiver_module

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("eager_tasks")]

webhook_receiver = receiver_module.webhook_receiver

INTERNAL_URLS = [
    "http://127.0.0.1:8000/hook",
    "http://localhost:6379/",
    "http://LOCALHOST./",
    "http://169.254.169.254/latest/meta-data/",
    "http://metadata.google.internal/computeMetadata/v1/",
    "http://10.0.0.5/",
    "http://172.16.0.1/",
    "http://192.168.1.1/",
    "http://100.64.0.1/",  # carrier-grade NAT
    "http://0.0.0.0:8000/",
    "http://224.0.0.1/",  # multicast
    "http://240.0.0.1/",  # reserved
    "http://255.255.255.255/",
    "http://2130706433/",  # 127.0.0.1 as one decimal number
    "http://0x7f000001/",  # … in hex
    "http://0177.0.0.1/",  # … in octal
    "http://127.1/",  # … shortened
    "http://[::1]/",
    "http://[::]/",
    "http://[::ffff:127.0.0.1]/",  # IPv4-mapped
    "http://[::ffff:169.254.169.254]/",
    "http://[64:ff9b::a9fe:a9fe]/",  # NAT64 of 169.254.169.254
    "http://[2002:7f00:1::]/",  # 6to4 of 127.0.0.1
    "http://[fe80::1]/",  # link-local
    "http://[fc00::1]/",  # unique local
    "http://[ff02::1]/",  # multicast
]


def _admin_add(client, url: str):  # type: ignore[no-untyped-def]
    return client.post(
        reverse("admin:orders_partner_add"),
        {
            "name": "Rapid Riders",
            "url": url,
            "events": ["order.paid"],
            "is_active": "on",
            "deliveries-TOTAL_FORMS": "0",
            "deliveries-INITIAL_FORMS": "0",
        },
    )


@pytest.mark.parametrize("url", INTERNAL_URLS)
def test_a_manager_cannot_save_a_partner_url_inside_our_network(actors, url) -> None:
    # Given the default (private networks not allowed), when a manager saves an internal URL,
    response = _admin_add(client_for(actors.manager), url)

    # the form is shown again with a clear reason, and no partner exists. (Django's
    # own URL check already refuses some spellings, such as a bare decimal address.)
    assert response.status_code == 200
    page = response.content.decode().replace("&#x27;", "'")
    assert INTERNAL_MESSAGE in page or "Enter a valid URL." in page
    assert not Partner.objects.exists()


@pytest.mark.parametrize("url", INTERNAL_URLS)
def test_the_model_refuses_an_internal_partner_url_whatever_the_door(url) -> None:
    with pytest.raises(ValidationError, match="public internet only"):
        Partner(name="P", url=url, events=["order.paid"]).full_clean()


@pytest.mark.parametrize(
    "url",
    [
        "https://riders.example/hooks/brigade",  # does not resolve yet: checked again at every send
        "https://93.184.215.14/hook",  # a public address, validated only
        "https://[2606:2800:21f:cb07:6820:80da:af6b:8b2c]/hook",
    ],
)
def test_a_public_partner_url_is_accepted(url) -> None:
    Partner(name="P", url=url, events=["order.paid"]).full_clean()


def test_production_takes_https_partner_urls_only(settings) -> None:
    settings.PRODUCTION = True
    with pytest.raises(ValidationError, match=HTTPS_MESSAGE):
        Partner(name="P", url="http://riders.example/hook", events=["order.paid"]).full_clean()
    Partner(name="P", url="https://riders.example/hook", events=["order.paid"]).full_clean()


# ---------------------------------------------------------------- at send, after DNS


def _paid_order(menu, capture) -> Order:  # type: ignore[no-untyped-def]
    order, _ = order_place(
        lines=[CartLine(menu.fries.pk, 1)],
        details=OrderDetails(order_type="pickup", contact_name="Ada", contact_email="ada@example.test"),
        actor=Actor.guest(),
    )
    with capture(execute=True):
        order_transition(order=order, to_status=OrderStatus.PAID, actor=Actor.system("test-till"))
    return order


@pytest.mark.parametrize("host", ["localhost", "127.0.0.1", "2130706433", "[::ffff:127.0.0.1]"])
def test_a_partner_url_saved_before_the_rules_is_refused_at_send_and_not_retried(
    small_menu, webhook_receiver, settings, django_capture_on_commit_callbacks, host
) -> None:
    # Given a partner whose URL names our own machine (saved before these
    # rules: objects.create skips validation), with private networks not allowed,
    settings.PARTNER_WEBHOOK_ALLOW_PRIVATE_NETWORKS = False
    Partner.objects.create(
        name="Inside", url=f"http://{host}:{webhook_receiver.port}/hook", events=["order.paid"]
    )

    # when an event is sent,
    _paid_order(small_menu, django_capture_on_commit_callbacks)

    # nothing reaches the address; the log says why in our words, and the delivery is failed for good.
    assert webhook_receiver.requests == []
    delivery = PartnerDelivery.objects.get()
    assert (delivery.status, delivery.attempts, delivery.last_status_code, delivery.last_error) == (
        PartnerDeliveryStatus.FAILED,
        1,
        None,
        REFUSED_ERROR,
    )
    assert delivery.next_attempt_at is None
    assert not DeadLetter.objects.exists()


def test_a_name_that_resolves_inside_is_refused_at_send_even_if_it_was_public_when_saved(
    small_menu, webhook_receiver, settings, django_capture_on_commit_callbacks, monkeypatch
) -> None:
    # Given a partner name that resolved to nothing when saved, and now resolves to 127.0.0.1
    settings.PARTNER_WEBHOOK_ALLOW_PRIVATE_NETWORKS = False
    url = f"http://rebinding.test:{webhook_receiver.port}/hook"
    Partner(name="P", url=url, events=["order.paid"]).full_clean()
    Partner.objects.create(name="Rebinding", url=url, events=["order.paid"])
    real_getaddrinfo = socket.getaddrinfo

    def resolver(host, port, *args, **kwargs):  # type: ignore[no-untyped-def]
        # The resolver is the boundary faked here: the name answers with loopback.
        return real_getaddrinfo("127.0.0.1" if host == "rebinding.test" else host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", resolver)

    _paid_order(small_menu, django_capture_on_commit_callbacks)

    assert webhook_receiver.requests == []
    assert PartnerDelivery.objects.get().last_error == REFUSED_ERROR


def test_the_request_goes_to_the_address_that_was_checked_with_the_partners_host_name(
    small_menu, webhook_receiver, django_capture_on_commit_callbacks, monkeypatch
) -> None:
    # Given a name whose first answer (the one checked) is the receiver, and
    # every later answer another loopback address where nothing listens (a rebind),
    url = f"http://rebinding.test:{webhook_receiver.port}/hook"
    Partner.objects.create(name="Rebinding", url=url, events=["order.paid"])
    real_getaddrinfo = socket.getaddrinfo
    answers = iter(["127.0.0.1"])

    def resolver(host, port, *args, **kwargs):  # type: ignore[no-untyped-def]
        if host == "rebinding.test":
            host = next(answers, "127.0.0.2")
        return real_getaddrinfo(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", resolver)

    _paid_order(small_menu, django_capture_on_commit_callbacks)

    # the request reached the checked address, still naming the partner's host.
    [received] = webhook_receiver.requests
    assert received.header("Host") == f"rebinding.test:{webhook_receiver.port}"
    assert PartnerDelivery.objects.get().status == PartnerDeliveryStatus.DELIVERED
