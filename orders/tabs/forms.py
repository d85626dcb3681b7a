"""The tab's forms: paying the bill at the till, taking a round off."""

from __future__ import annotations

from django import forms

from orders.tabs.models import TabPaymentMethod
from restaurant.forms import StrictForm, version_field
from restaurant.validators import refuse_invisible_controls


class TabPayForm(StrictForm):
    method = forms.ChoiceField(choices=TabPaymentMethod.choices)
    # The tab's version the bill showed: its total as the waiter read it out.
    version = version_field()


class TabRoundRemoveForm(StrictForm):
    # The round's order version the bill showed.
    version = version_field()
    reason = forms.CharField(max_length=500, validators=[refuse_invisible_controls])


class TabPayOnlineForm(StrictForm):
    # The tab's version the bill showed: the provider is asked for that total.
    version = version_field()
