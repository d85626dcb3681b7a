"""Doors for money: pay an order, the sandbox's hosted checkout, provider webhooks."""

from __future__ import annotations

import logging

from django import forms
from django.conf import settings
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST

from orders.models import Order, Payment, PaymentStatus
from orders.payments import get_provider, provider_names
from orders.payments.base import PAYMENT_FAILED, PAYMENT_SUCCEEDED, WebhookRejected
from orders.payments.sandbox import SLOW_SECONDS, sandbox_deliver, sandbox_event_body
from orders.payments.services import payment_start, payment_webhook_handle
from orders.selectors import order_for_viewer
from restaurant.error_views import error_json
from restaurant.errors import ApplicationError
from restaurant.forms import StrictForm
from restaurant.rate_limits import rate_limited

logger = logging.getLogger(__name__)


def redirect_to_payment(request: HttpRequest, order: Order) -> HttpResponse:
    """Sends the customer to the provider's checkout, or back to the order with a reason."""
    try:
        session = payment_start(order=order, return_url=request.build_absolute_uri(order.get_absolute_url()))
    except ApplicationError as error:
        messages.error(request, error.message)
        return redirect(order)
    return redirect(session.redirect_url)


@require_POST
@rate_limited("payment")
def pay(request: HttpRequest, token: str) -> HttpResponse:
    order = order_for_viewer(tracking_token=token, user=request.user)
    if order is None:
        raise Http404("No such order.")
    return redirect_to_payment(request, order)


# ------------------------------------------------------------------ sandbox provider


class SandboxChoiceForm(StrictForm):
    outcome = forms.ChoiceField(choices=[("approve", "approve"), ("decline", "decline"), ("slow", "slow")])


@require_http_methods(["GET", "HEAD", "POST"])
@rate_limited("payment")
def sandbox_checkout(request: HttpRequest, reference: str) -> HttpResponse:
    if settings.PAYMENT_PROVIDER != "sandbox":
        raise Http404("The sandbox is off.")
    payment = (
        Payment.objects.select_related("order").filter(provider="sandbox", provider_ref=reference).first()
    )
    if payment is None:
        raise Http404("No such test payment.")
    # Where the payer goes back to: the order's page, or the bill of the tab paid.
    back = (
        payment.order.get_absolute_url()
        if payment.order
        else reverse("orders:tab_bill", args=[payment.tab_id])
    )
    context = {"payment": payment, "order": payment.order, "back_url": back, "slow_seconds": SLOW_SECONDS}
    if request.method in ("GET", "HEAD") or payment.status != PaymentStatus.PENDING:
        return render(request, "orders/sandbox_checkout.html", context)
    form = SandboxChoiceForm(request.POST)
    if not form.is_valid():
        return render(
            request, "orders/sandbox_checkout.html", {**context, "errors": ["Choose an outcome."]}, status=400
        )
    outcome = form.cleaned_data["outcome"]
    body = sandbox_event_body(
        reference=reference,
        event_type=PAYMENT_FAILED if outcome == "decline" else PAYMENT_SUCCEEDED,
        amount_minor=payment.amount_minor,
        currency=payment.currency,
    )
    sandbox_deliver(body=body, delay_seconds=SLOW_SECONDS if outcome == "slow" else 0)
    return redirect(back)


# ------------------------------------------------------------------ provider webhooks


@csrf_exempt
@require_POST
def payment_webhook(request: HttpRequest, provider: str) -> JsonResponse:
    """Provider events: verified, deduplicated, applied, answered fast."""
    if provider not in provider_names() or provider != settings.PAYMENT_PROVIDER:
        return error_json(404, "unknown_provider", "No such payment provider.")
    declared = request.headers.get("Content-Length", "")
    if not declared.isdigit() or int(declared) > settings.PAYMENT_WEBHOOK_MAX_BYTES:
        logger.warning("payment webhook refused", extra={"provider": provider, "reason": "too_large"})
        return error_json(413, "too_large", "The event body is too large.")
    body = request.body
    try:
        event = get_provider(provider).parse_webhook(body=body, headers=request.headers)
    except WebhookRejected as rejected:
        logger.warning("payment webhook refused", extra={"provider": provider, "reason": rejected.code})
        return error_json(400, rejected.code, rejected.message)
    outcome = payment_webhook_handle(provider_name=provider, event=event)
    return JsonResponse({"status": "ok", "outcome": outcome})
