from __future__ import annotations

import re
from datetime import UTC, datetime

from django import forms
from django.conf import settings
from django.core.validators import RegexValidator

from orders.coupons.models import CODE_MAX_LENGTH, CODE_PATTERN, CODE_RULE
from orders.floor.models import Table, table_not_in_service_message
from orders.floor.selectors import table_in_service, tables_in_service
from orders.models import LINE_NOTE_MAX_LENGTH, SPECIAL_INSTRUCTIONS_MAX_LENGTH, OrderType
from orders.pacing.selectors import ASAP, Pickup
from restaurant.forms import StrictForm, id_field, parse_id_list, version_field
from restaurant.validators import (
    refuse_invisible_controls,
    refuse_invisible_controls_multiline,
    validate_phone,
)


def _quantity_field() -> forms.IntegerField:
    return forms.IntegerField(
        min_value=1,
        max_value=settings.BRIGADE_MAX_LINE_QUANTITY,
        error_messages={
            "invalid": "Quantity must be a whole number.",
            "min_value": "Quantity must be at least 1.",
            "max_value": "Quantity can be at most %(limit_value)s.",
        },
    )


MODIFIER_FIELD = re.compile(r"^mod-[0-9]{1,12}$")


def line_note_field() -> forms.CharField:
    """A note on one cart line: one short line of text, for the station that cooks it."""
    return forms.CharField(
        label="Note for the kitchen",
        max_length=LINE_NOTE_MAX_LENGTH,
        required=False,
        help_text=f"Optional, for this dish only (“no onions”), up to {LINE_NOTE_MAX_LENGTH} characters.",
        validators=[refuse_invisible_controls],
        error_messages={"max_length": f"A note on a line is limited to {LINE_NOTE_MAX_LENGTH} characters."},
        widget=forms.TextInput(attrs={"maxlength": LINE_NOTE_MAX_LENGTH, "autocomplete": "off"}),
    )


class AddToCartForm(StrictForm):
    """An item, a quantity and one `mod-<group id>` field per modifier group.

    Each group gets its own field name so a page's radio groups stay
    independent; which group an option really belongs to is checked when the
    line is priced, never taken from the name.
    """

    item = id_field(widget=forms.HiddenInput)
    quantity = _quantity_field()
    note = line_note_field()

    def is_expected_field(self, name: str) -> bool:
        return super().is_expected_field(name) or bool(MODIFIER_FIELD.match(name))

    def clean(self) -> dict:
        cleaned = super().clean()
        values = [
            value
            for name in self.data
            if MODIFIER_FIELD.match(name)
            for value in self.data.getlist(name)  # type: ignore[attr-defined]
        ]
        try:
            cleaned["options"] = parse_id_list(values)
        except forms.ValidationError as error:
            self.add_error(None, error)
        return cleaned


class CartLineForm(StrictForm):
    line = forms.CharField(max_length=24, widget=forms.HiddenInput)
    quantity = _quantity_field()
    # Left out (a program changing the quantity only): the line keeps its note.
    note = line_note_field()


class CartRemoveForm(StrictForm):
    line = forms.CharField(max_length=24, widget=forms.HiddenInput)


class PickupField(forms.Field):
    """ "asap", or a slot's start as the checkout page wrote it (ISO 8601 with its offset).

    Only the form is checked here; whether the time is a slot the kitchen
    offers right now is for orders.pacing.services.slot_book to say.
    """

    MAX_LENGTH = 40
    INVALID = "Choose a pickup time from the list."

    def __init__(self, **kwargs: object) -> None:
        super().__init__(required=False, **kwargs)  # type: ignore[arg-type]

    def to_python(self, value: object) -> Pickup:
        text = "" if value is None else str(value).strip()
        if text in ("", ASAP):
            return ASAP
        try:
            if len(text) > self.MAX_LENGTH:
                raise ValueError(text)
            moment = datetime.fromisoformat(text)
            if moment.tzinfo is None:
                raise ValueError(text)
            return moment.astimezone(UTC)
        except (ValueError, OverflowError) as error:  # OverflowError: year 1 at a positive offset
            raise forms.ValidationError(self.INVALID, code="invalid_pickup") from error


DINE_IN_NEEDS_TABLE_CODE = (
    "Dine in is ordered from your table: scan the QR code on it, then check out again. "
    "Or choose pickup or delivery."
)


def table_moved_message(table: Table) -> str:
    return (
        f"This order is for {table}, the table whose code you scanned. "
        "To order for another table, scan the code on that table."
    )


class CheckoutForm(StrictForm):
    """The checkout's details. Which table a dine-in order is for depends on who checks out.

    Floor staff (`takes_tables`) choose any table in service. Anyone else
    orders dine-in only at the table whose QR code they followed
    (`link_table`, from the session): the form names it, and a POST naming
    another table is refused, not obeyed.
    """

    checkout_token = forms.CharField(max_length=64, widget=forms.HiddenInput)
    order_type = forms.ChoiceField(choices=OrderType.choices, widget=forms.RadioSelect)
    table_number = forms.CharField(
        max_length=10,
        required=False,
        help_text="Dine in: the number on your table.",
        validators=[refuse_invisible_controls],
    )
    delivery_address = forms.CharField(
        max_length=500,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        validators=[refuse_invisible_controls_multiline],
    )
    contact_name = forms.CharField(label="Name", max_length=100, validators=[refuse_invisible_controls])
    contact_email = forms.EmailField(label="Email", max_length=254)
    contact_phone = forms.CharField(
        label="Phone",
        max_length=32,
        required=False,
        help_text="Needed for delivery.",
        validators=[validate_phone],
    )
    when = PickupField(label="When")
    special_instructions = forms.CharField(
        max_length=SPECIAL_INSTRUCTIONS_MAX_LENGTH,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3, "maxlength": SPECIAL_INSTRUCTIONS_MAX_LENGTH}),
        help_text=f"Allergies, cooking wishes… up to {SPECIAL_INSTRUCTIONS_MAX_LENGTH} characters.",
        validators=[refuse_invisible_controls_multiline],
    )

    def __init__(
        self, *args: object, takes_tables: bool = False, link_table: Table | None = None, **kwargs: object
    ):
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.takes_tables = takes_tables
        self.link_table = link_table
        field = self.fields["table_number"]
        if takes_tables:
            field.label = "Table"
            field.help_text = "Dine in: the table you are taking the order for."
            field.widget = forms.Select(choices=[("", "Choose a table"), *_table_choices()])
        else:
            field.widget = forms.HiddenInput()

    def _clean_table(self, cleaned: dict) -> None:
        typed = cleaned.get("table_number", "").strip()
        if self.takes_tables:
            if not typed:
                self.add_error("table_number", "Dine-in orders need a table number.")
            elif table_in_service(label=typed) is None:
                self.add_error("table_number", table_not_in_service_message(typed))
        elif self.link_table is None:
            self.add_error("order_type", DINE_IN_NEEDS_TABLE_CODE)
        elif typed and typed.casefold() != self.link_table.label.casefold():
            self.add_error("table_number", table_moved_message(self.link_table))
        else:
            cleaned["table_number"] = self.link_table.label

    def clean(self) -> dict:
        cleaned = super().clean()
        order_type = cleaned.get("order_type")
        if order_type == OrderType.DINE_IN:
            self._clean_table(cleaned)
        if order_type == OrderType.DELIVERY:
            if not cleaned.get("delivery_address", "").strip():
                self.add_error("delivery_address", "Delivery orders need an address.")
            if not cleaned.get("contact_phone", "").strip():
                self.add_error("contact_phone", "Delivery orders need a phone number.")
        return cleaned


def _table_choices() -> list[tuple[str, str]]:
    return [
        (table.label, f"{table.label} · {table.area}" if table.area else table.label)
        for table in tables_in_service()
    ]


class CancelOrderForm(StrictForm):
    reason = forms.CharField(max_length=500, required=False, validators=[refuse_invisible_controls])
    version = version_field(widget=forms.HiddenInput)


class CouponCodeForm(StrictForm):
    """A code as the customer typed it: only its shape is checked here, the coupon by the service."""

    code = forms.CharField(
        label="Coupon code",
        max_length=CODE_MAX_LENGTH,
        error_messages={"required": "Enter a code.", "max_length": CODE_RULE},
        validators=[RegexValidator(CODE_PATTERN, CODE_RULE)],
        widget=forms.TextInput(
            attrs={"autocomplete": "off", "autocapitalize": "characters", "spellcheck": "false"}
        ),
    )
