"""The customer's account page: name, phone and saved delivery addresses.

Doors only: parse, call a service, render. Sign-in, email, password and
social connections are allauth's pages, linked from here.
"""

from __future__ import annotations

from collections.abc import Callable

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.forms import Form
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from accounts import services
from accounts.forms import AddressActionForm, AddressForm, ProfileForm
from accounts.http import AuthenticatedHttpRequest
from accounts.models import Address
from accounts.selectors import address_of, addresses_of
from restaurant.errors import ApplicationError, NotFound


def _form_errors(form: Form) -> list[str]:
    """Every error for the summary at the top, each naming its field."""
    return [
        f"{form.fields[name].label}: {message}" if name in form.fields else str(message)
        for name, messages_ in form.errors.items()
        for message in messages_
    ]


def _profile_page(
    request: AuthenticatedHttpRequest,
    *,
    profile_form: ProfileForm | None = None,
    address_form: AddressForm | None = None,
    errors: list[str] | None = None,
    status: int = 200,
) -> HttpResponse:
    user = request.user
    addresses = list(addresses_of(user=user))
    context = {
        "profile_form": profile_form
        or ProfileForm(
            initial={"first_name": user.first_name, "last_name": user.last_name, "phone": user.phone}
        ),
        "address_form": address_form or AddressForm(),
        "addresses": addresses,
        "can_add_address": len(addresses) < services.MAX_ADDRESSES_PER_USER,
        "max_addresses": services.MAX_ADDRESSES_PER_USER,
        "errors": errors or [],
    }
    return render(request, "accounts/profile.html", context, status=status)


def _address_page(
    request: AuthenticatedHttpRequest,
    *,
    address: Address,
    form: AddressForm,
    errors: list[str],
    status: int = 200,
) -> HttpResponse:
    context = {"address": address, "form": form, "errors": errors}
    return render(request, "accounts/address_form.html", context, status=status)


def _own_address_or_404(request: AuthenticatedHttpRequest, pk: int) -> Address:
    address = address_of(user=request.user, address_id=pk)
    if address is None:
        raise Http404("No such address.")
    return address


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def profile(request: AuthenticatedHttpRequest) -> HttpResponse:
    if request.method in ("GET", "HEAD"):
        return _profile_page(request)
    form = ProfileForm(request.POST)
    if not form.is_valid():
        return _profile_page(request, profile_form=form, errors=_form_errors(form), status=400)
    try:
        services.profile_update(user=request.user, **form.cleaned_data)
    except ApplicationError as error:
        return _profile_page(request, profile_form=form, errors=[error.message], status=error.status)
    messages.success(request, "Your details are saved.")
    return redirect("account_profile:index")


@login_required
@require_POST
def address_add(request: AuthenticatedHttpRequest) -> HttpResponse:
    form = AddressForm(request.POST)
    if not form.is_valid():
        return _profile_page(request, address_form=form, errors=_form_errors(form), status=400)
    try:
        address = services.address_add(user=request.user, **form.cleaned_data)
    except ApplicationError as error:
        return _profile_page(request, address_form=form, errors=[error.message], status=error.status)
    messages.success(request, f"Address “{address.label}” saved.")
    return redirect("account_profile:index")


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def address_edit(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    address = _own_address_or_404(request, pk)
    if request.method in ("GET", "HEAD"):
        form = AddressForm(
            initial={
                "label": address.label,
                "street": address.street,
                "city": address.city,
                "postcode": address.postcode,
                "instructions": address.instructions,
            }
        )
        return _address_page(request, address=address, form=form, errors=[])
    form = AddressForm(request.POST)
    if not form.is_valid():
        return _address_page(request, address=address, form=form, errors=_form_errors(form), status=400)
    try:
        address = services.address_update(user=request.user, address_id=pk, **form.cleaned_data)
    except NotFound as error:
        raise Http404(error.message) from error
    except ApplicationError as error:
        return _address_page(request, address=address, form=form, errors=[error.message], status=error.status)
    messages.success(request, f"Address “{address.label}” saved.")
    return redirect("account_profile:index")


def _address_action(
    request: AuthenticatedHttpRequest, pk: int, action: Callable[..., object], success: str
) -> HttpResponse:
    address = _own_address_or_404(request, pk)
    form = AddressActionForm(request.POST)
    if not form.is_valid():
        return _profile_page(request, errors=_form_errors(form), status=400)
    try:
        action(user=request.user, address_id=pk)
    except NotFound as error:
        raise Http404(error.message) from error
    except ApplicationError as error:
        return _profile_page(request, errors=[error.message], status=error.status)
    messages.success(request, success.format(label=address.label))
    return redirect("account_profile:index")


@login_required
@require_POST
def address_delete(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    return _address_action(request, pk, services.address_delete, "Address “{label}” deleted.")


@login_required
@require_POST
def address_set_default(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    return _address_action(
        request, pk, services.address_set_default, "“{label}” is now your default delivery address."
    )
