"""Coupons as managers set them in admin; how often each was used is read from the orders."""

from __future__ import annotations

import re
from datetime import datetime

from django.core.validators import MinValueValidator, RegexValidator
from django.db import models
from django.db.models.functions import Upper

from menu.money import format_money

CODE_MAX_LENGTH = 32
# ASCII only: a code is read aloud, printed on flyers and typed on phones, and
# str.upper() of other letters changes their length ("ß" becomes "SS").
# \Z, not $: "$" also matches before a final line break.
CODE_PATTERN = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?\Z")
CODE_RULE = f"A code is letters (A–Z), digits and dashes, up to {CODE_MAX_LENGTH} characters."


def code_normalized(code: str) -> str:
    """The one spelling a code is stored and looked up in: case does not matter."""
    return code.strip().upper()


class CouponKind(models.TextChoices):
    # `value` is a whole percentage of the subtotal (1 to 99).
    PERCENT = "percent", "Percent off"
    # `value` is an amount in the currency's minor unit (cents).
    AMOUNT = "amount", "Amount off"


PERCENT_MAX = 99


class Coupon(models.Model):
    code = models.CharField(
        max_length=CODE_MAX_LENGTH,
        validators=[RegexValidator(CODE_PATTERN, CODE_RULE)],
        help_text="What customers type. Case does not matter: welcome10 is WELCOME10.",
    )
    kind = models.CharField(max_length=8, choices=CouponKind.choices, default=CouponKind.PERCENT)
    value = models.PositiveIntegerField(
        validators=[MinValueValidator(1)],
        help_text="Percent off: 1 to 99. Amount off: in cents (500 is 5.00).",
    )
    minimum_subtotal_minor = models.PositiveIntegerField(
        "minimum subtotal",
        default=0,
        help_text="In cents: the items must come to at least this (more than an amount off).",
    )
    valid_from = models.DateTimeField(null=True, blank=True, help_text="Empty: valid at once.")
    valid_until = models.DateTimeField(
        null=True,
        blank=True,
        help_text="Empty: no end. The nightly job switches it off once this has passed.",
    )
    max_uses = models.PositiveIntegerField(
        "total uses", null=True, blank=True, validators=[MinValueValidator(1)], help_text="Empty: no limit."
    )
    max_uses_per_customer = models.PositiveIntegerField(
        "uses per customer",
        null=True,
        blank=True,
        validators=[MinValueValidator(1)],
        help_text="Per account, or per email address for guests. Empty: no limit.",
    )
    is_active = models.BooleanField("on", default=True)
    show_in_banner = models.BooleanField(
        default=False,
        help_text="Advertise this code in the site's banner while it is on and valid (one at a time).",
    )
    # Set by the nightly job when it switched the coupon off for being past valid_until.
    retired_at = models.DateTimeField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        app_label = "orders"
        ordering = ("code",)
        constraints = [
            models.UniqueConstraint(
                Upper("code"),
                name="coupon_code_unique_any_case",
                violation_error_message="That code exists already.",
            ),
            models.CheckConstraint(condition=models.Q(kind__in=CouponKind.values), name="coupon_kind_valid"),
            models.CheckConstraint(
                condition=~models.Q(kind=CouponKind.PERCENT) | models.Q(value__gte=1, value__lte=PERCENT_MAX),
                name="coupon_percent_in_range",
                violation_error_message=f"A percentage is from 1 to {PERCENT_MAX}.",
            ),
            # Every online order is paid through the provider: a coupon never makes one free.
            models.CheckConstraint(
                condition=~models.Q(kind=CouponKind.AMOUNT)
                | models.Q(minimum_subtotal_minor__gt=models.F("value")),
                name="coupon_amount_below_minimum",
                violation_error_message="The minimum subtotal must be more than the amount off.",
            ),
            models.CheckConstraint(
                condition=models.Q(valid_from__isnull=True)
                | models.Q(valid_until__isnull=True)
                | models.Q(valid_until__gt=models.F("valid_from")),
                name="coupon_window_ordered",
                violation_error_message="Valid until must be after valid from.",
            ),
            models.UniqueConstraint(
                fields=("show_in_banner",),
                condition=models.Q(show_in_banner=True),
                name="coupon_one_in_banner",
                violation_error_message="Another coupon is in the banner already: untick it first.",
            ),
        ]

    def __str__(self) -> str:
        return self.code

    def save(self, *args: object, **kwargs: object) -> None:
        self.code = code_normalized(self.code)
        super().save(*args, **kwargs)  # type: ignore[arg-type]

    def clean(self) -> None:
        # Before the unique check, so "welcome10" meets "WELCOME10" in the form, not in the database.
        self.code = code_normalized(self.code or "")

    def is_open_at(self, now: datetime) -> bool:
        """On, and inside its window: the rules that need no count of its uses."""
        return (
            self.is_active
            and (self.valid_from is None or self.valid_from <= now)
            and (self.valid_until is None or now < self.valid_until)
        )

    def offer_text(self, currency: str | None = None) -> str:
        """What the coupon gives, in words: "10% off orders of €20.00 or more"."""
        off = f"{self.value}%" if self.kind == CouponKind.PERCENT else format_money(self.value, currency)
        if self.minimum_subtotal_minor:
            return f"{off} off orders of {format_money(self.minimum_subtotal_minor, currency)} or more"
        return f"{off} off your order"
