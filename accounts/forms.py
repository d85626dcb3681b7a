"""The customer's account page forms. Unexpected fields are refused (StrictForm)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.db.models import Model

from accounts.models import Address, User
from restaurant.forms import StrictForm
from restaurant.validators import refuse_invisible_controls, validate_phone


def column_max_length(model: type[Model], name: str) -> int:
    limit = model._meta.get_field(name).max_length  # type: ignore[union-attr]
    assert limit is not None, f"{model.__name__}.{name} is a text column with a length"
    return int(limit)


def _text_field(
    model: type[Model], name: str, *, label: str, required: bool = True, **kwargs: Any
) -> forms.CharField:
    limit = column_max_length(model, name)
    return forms.CharField(
        label=label,
        max_length=limit,
        required=required,
        validators=[refuse_invisible_controls],
        error_messages={"max_length": f"{label} can be at most {limit} characters."},
        **kwargs,
    )


class ProfileForm(StrictForm):
    first_name = _text_field(User, "first_name", label="First name", required=False)
    last_name = _text_field(User, "last_name", label="Last name", required=False)
    phone = _text_field(
        User,
        "phone",
        label="Phone",
        required=False,
        help_text="Used for delivery orders. For example +44 20 7946 0958.",
        widget=forms.TextInput(attrs={"type": "tel", "autocomplete": "tel", "inputmode": "tel"}),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["first_name"].widget.attrs["autocomplete"] = "given-name"
        self.fields["last_name"].widget.attrs["autocomplete"] = "family-name"

    def clean_phone(self) -> str:
        phone = self.cleaned_data["phone"]
        if phone:
            validate_phone(phone)
        return phone


class AddressForm(StrictForm):
    label = _text_field(Address, "label", label="Name of this address", help_text="Home, Work…")
    street = _text_field(Address, "street", label="Street and number")
    city = _text_field(Address, "city", label="City")
    postcode = _text_field(Address, "postcode", label="Postcode", required=False)
    instructions = _text_field(
        Address,
        "instructions",
        label="Instructions for the driver",
        required=False,
        help_text="Gate code, floor, where to leave it.",
    )
    make_default = forms.BooleanField(label="Use as my default delivery address", required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["street"].widget.attrs["autocomplete"] = "address-line1"
        self.fields["city"].widget.attrs["autocomplete"] = "address-level2"
        self.fields["postcode"].widget.attrs["autocomplete"] = "postal-code"


class AddressActionForm(StrictForm):
    """Delete or make default: nothing but the CSRF token is expected."""
