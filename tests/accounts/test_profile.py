"""The customer's account page: details, saved delivery addresses, and checkout prefill."""

from __future__ import annotations

import html

import pytest
from django.test import Client
from django.urls import reverse

from accounts.models import Address, User
from accounts.services import MAX_ADDRESSES_PER_USER, address_add, address_set_default
from restaurant.errors import ApplicationError, NotFound
from tests.concurrency import run_simultaneously
from tests.conftest import client_for
from tests.orders.flows import add_to_cart

pytestmark = pytest.mark.django_db

INDEX = "account_profile:index"
ADD = "account_profile:address_add"


def _address_data(**overrides: object) -> dict[str, object]:
    return {
        "label": "Home",
        "street": "1 Harbour Street",
        "city": "Leith",
        "postcode": "EH6 6AA",
        "instructions": "Blue door, ring twice",
        **overrides,
    }


def _profile_data(**overrides: object) -> dict[str, object]:
    return {"first_name": "Carla", "last_name": "Cook", "phone": "+44 (0)131 555-0100", **overrides}


def _add(user: User, **overrides: object) -> Address:
    data = {
        "label": "Home",
        "street": "1 Harbour Street",
        "city": "Leith",
        "postcode": "",
        "instructions": "",
        "make_default": False,
        **overrides,
    }
    return address_add(user=user, **data)  # type: ignore[arg-type]


def _url(name: str, address: Address | int) -> str:
    pk = address if isinstance(address, int) else address.pk
    return reverse(f"account_profile:{name}", args=[pk])


def _defaults(user: User) -> list[str]:
    return list(Address.objects.filter(user=user, is_default=True).values_list("label", flat=True))


def _snapshot(user: User) -> list[tuple]:
    return list(
        Address.objects.filter(user=user)
        .order_by("pk")
        .values_list("pk", "label", "street", "city", "postcode", "instructions", "is_default")
    )


# ---------------------------------------------------------------- profile


def test_account_page_shows_details_and_links_to_allauth_pages(actors):
    client = client_for(actors.customer)

    page = client.get(reverse(INDEX))

    body = page.content.decode()
    assert page.status_code == 200
    assert actors.customer.email in body
    for name in ("account_email", "account_change_password", "socialaccount_connections"):
        assert f'href="{reverse(name)}"' in body
    assert f'href="{reverse(INDEX)}">My account</a>' in body  # the header link


def test_customer_updates_name_and_phone(actors):
    client = client_for(actors.customer)

    response = client.post(reverse(INDEX), _profile_data())

    assert response.status_code == 302
    assert response["Location"] == reverse(INDEX)
    user = User.objects.get(pk=actors.customer.pk)
    assert (user.first_name, user.last_name, user.phone) == ("Carla", "Cook", "+44 (0)131 555-0100")
    page = client.get(response["Location"])
    assert "Your details are saved." in page.content.decode()
    assert 'value="Cook"' in page.content.decode()


@pytest.mark.parametrize("phone", ["12345", "call me maybe", "+1 555 0100 ext 7", "1" * 21, "++--()"])
def test_a_phone_that_is_not_a_phone_number_is_refused_with_the_reason(actors, phone):
    client = client_for(actors.customer)

    response = client.post(reverse(INDEX), _profile_data(phone=phone))

    assert response.status_code == 400
    body = response.content.decode()
    assert "Enter a phone number: 6 to 20 digits" in body
    assert 'aria-invalid="true"' in body and 'id="id_phone_error"' in body
    assert User.objects.get(pk=actors.customer.pk).phone == ""


def test_an_empty_phone_and_names_are_allowed(actors):
    response = client_for(actors.customer).post(reverse(INDEX), _profile_data(first_name="", phone=""))

    assert response.status_code == 302
    assert User.objects.get(pk=actors.customer.pk).first_name == ""


# ---------------------------------------------------------------- addresses


def test_customer_adds_edits_and_deletes_an_address_and_the_first_becomes_default(actors):
    client = client_for(actors.customer)

    response = client.post(reverse(ADD), _address_data())

    assert response.status_code == 302
    assert response["Location"] == reverse(INDEX)
    home = Address.objects.get(user=actors.customer)
    assert (home.label, home.street, home.city, home.postcode) == (
        "Home",
        "1 Harbour Street",
        "Leith",
        "EH6 6AA",
    )
    assert home.is_default  # the first one, though "make_default" was not ticked
    page = client.get(reverse(INDEX)).content.decode()
    assert "Address “Home” saved." in page
    assert "1 Harbour Street, EH6 6AA, Leith" in page
    assert "Blue door, ring twice" in page

    edit_page = client.get(_url("address_edit", home))
    assert edit_page.status_code == 200
    assert 'value="1 Harbour Street"' in edit_page.content.decode()
    response = client.post(_url("address_edit", home), _address_data(street="2 Shore", instructions=""))
    assert response.status_code == 302
    home.refresh_from_db()
    assert (home.street, home.instructions, home.is_default) == ("2 Shore", "", True)

    response = client.post(_url("address_delete", home))
    assert response.status_code == 302
    assert not Address.objects.filter(user=actors.customer).exists()
    assert "Address “Home” deleted." in client.get(reverse(INDEX)).content.decode()


def test_a_required_address_field_missing_is_shown_next_to_the_field(actors):
    response = client_for(actors.customer).post(reverse(ADD), _address_data(street="  "))

    assert response.status_code == 400
    body = response.content.decode()
    assert 'id="id_street_error"' in body
    assert "Street and number: This field is required." in body  # the summary names the field
    assert 'aria-describedby="id_street_error"' in body
    assert not Address.objects.exists()


def test_making_another_address_default_moves_it_and_one_default_remains(actors):
    client = client_for(actors.customer)
    home = _add(actors.customer, label="Home")
    work = _add(actors.customer, label="Work")
    assert _defaults(actors.customer) == ["Home"]

    response = client.post(_url("address_default", work))

    assert response.status_code == 302
    assert _defaults(actors.customer) == ["Work"]
    assert "“Work” is now your default delivery address." in client.get(reverse(INDEX)).content.decode()

    # Ticking "default" when adding or editing moves it too.
    client.post(reverse(ADD), _address_data(label="Gym", make_default="on"))
    assert _defaults(actors.customer) == ["Gym"]
    client.post(_url("address_edit", home), _address_data(label="Home", make_default="on"))
    assert _defaults(actors.customer) == ["Home"]
    # Making the default the default again changes nothing.
    client.post(_url("address_default", home))
    assert _defaults(actors.customer) == ["Home"]


def test_deleting_the_default_makes_the_oldest_remaining_address_the_default(actors):
    home = _add(actors.customer, label="Home")
    _add(actors.customer, label="Work")
    _add(actors.customer, label="Gym", make_default=True)
    gym = Address.objects.get(label="Gym")

    client_for(actors.customer).post(_url("address_delete", gym))

    assert _defaults(actors.customer) == [home.label]


def test_the_eleventh_address_is_refused_with_a_clear_message(actors):
    for n in range(MAX_ADDRESSES_PER_USER):
        _add(actors.customer, label=f"Place {n}")
    client = client_for(actors.customer)

    response = client.post(reverse(ADD), _address_data(label="One too many"))

    assert response.status_code == 400
    body = response.content.decode()
    assert "You can save up to 10 addresses. Delete one you no longer use to add another." in body
    assert Address.objects.filter(user=actors.customer).count() == MAX_ADDRESSES_PER_USER
    assert not Address.objects.filter(label="One too many").exists()
    # The page says so up front instead of offering a form that will fail.
    page = client.get(reverse(INDEX)).content.decode()
    assert "You have saved 10 addresses, the most we keep." in page
    assert f'action="{reverse(ADD)}"' not in page
    with pytest.raises(ApplicationError) as refused:
        _add(actors.customer, label="Via the service")
    assert refused.value.code == "too_many_addresses"


def test_the_limit_is_per_customer(actors):
    for n in range(MAX_ADDRESSES_PER_USER):
        _add(actors.customer, label=f"Place {n}")

    response = client_for(actors.other_customer).post(reverse(ADD), _address_data())

    assert response.status_code == 302
    assert _defaults(actors.other_customer) == ["Home"]


# ---------------------------------------------------------------- other people's addresses


@pytest.mark.parametrize(
    ("name", "method", "data"),
    [
        ("address_edit", "get", None),
        ("address_edit", "post", _address_data(label="Mine now", make_default="on")),
        ("address_delete", "post", {}),
        ("address_default", "post", {}),
    ],
)
def test_another_customers_address_is_not_found_and_unchanged(actors, name, method, data):
    otto_home = _add(actors.other_customer, label="Otto home")
    _add(actors.other_customer, label="Otto work")
    _add(actors.customer, label="Carla home")
    before = {user.pk: _snapshot(user) for user in (actors.customer, actors.other_customer)}
    client = client_for(actors.customer)

    response = getattr(client, method)(_url(name, otto_home), data)

    assert response.status_code == 404
    assert "Otto" not in response.content.decode()
    assert {user.pk: _snapshot(user) for user in (actors.customer, actors.other_customer)} == before


@pytest.mark.parametrize("pk", [0, 999_999, 2**63, 10**30])
@pytest.mark.parametrize("name", ["address_edit", "address_delete", "address_default"])
def test_an_address_id_that_does_not_exist_is_not_found(actors, name, pk):
    # Built by hand: reverse() itself refuses an id no row can have.
    url = _url(name, 1).replace("/1/", f"/{pk}/")
    response = client_for(actors.customer).post(url, _address_data() if name == "address_edit" else {})

    assert response.status_code == 404


def test_the_services_refuse_another_customers_address(actors):
    otto_home = _add(actors.other_customer, label="Otto home")

    with pytest.raises(NotFound):
        address_set_default(user=actors.customer, address_id=otto_home.pk)

    otto_home.refresh_from_db()
    assert otto_home.is_default and otto_home.user == actors.other_customer


# ---------------------------------------------------------------- who may come in, and how


def _every_door(address: Address) -> list[tuple[str, str]]:
    return [
        ("get", reverse(INDEX)),
        ("post", reverse(INDEX)),
        ("post", reverse(ADD)),
        ("get", _url("address_edit", address)),
        ("post", _url("address_edit", address)),
        ("post", _url("address_delete", address)),
        ("post", _url("address_default", address)),
    ]


def test_anonymous_visitors_are_sent_to_sign_in(actors):
    home = _add(actors.customer)
    client = client_for(None)

    for method, url in _every_door(home):
        response = getattr(client, method)(url, _address_data() if method == "post" else None)
        assert response.status_code == 302, (method, url)
        assert response["Location"].startswith(reverse("account_login") + "?next="), (method, url)
    assert _snapshot(actors.customer) == [(home.pk, "Home", "1 Harbour Street", "Leith", "", "", True)]


def test_posts_without_a_csrf_token_are_refused(actors):
    home = _add(actors.customer)
    _add(actors.customer, label="Work")
    before = _snapshot(actors.customer)
    client = Client(enforce_csrf_checks=True)
    client.force_login(actors.customer, backend="django.contrib.auth.backends.ModelBackend")

    for method, url in _every_door(home):
        if method == "post":
            data = _profile_data() if url == reverse(INDEX) else _address_data(make_default="on")
            assert client.post(url, data).status_code == 403, url
    assert _snapshot(actors.customer) == before
    assert User.objects.get(pk=actors.customer.pk).last_name == "Diner"


def test_the_edit_page_only_answers_get_and_post(actors):
    home = _add(actors.customer)
    client = client_for(actors.customer)

    assert client.put(_url("address_edit", home)).status_code == 405
    assert client.get(_url("address_delete", home)).status_code == 405
    assert client.get(reverse(ADD)).status_code == 405


@pytest.mark.parametrize(
    ("name", "data"),
    [
        (INDEX, _profile_data(is_vip="on")),
        (INDEX, _profile_data(email="mallory@example.test")),
        (ADD, _address_data(user="2")),
        (ADD, _address_data(is_default="on")),
        ("address_edit", _address_data(user="2")),
        ("address_delete", {"confirm": "yes"}),
        ("address_default", {"user": "2"}),
    ],
)
def test_tampered_requests_with_extra_fields_are_refused(actors, name, data):
    home = _add(actors.customer)
    _add(actors.customer, label="Work")
    before = _snapshot(actors.customer)
    url = reverse(name) if ":" in name else _url(name, home)

    response = client_for(actors.customer).post(url, data)

    assert response.status_code == 400
    assert "This form does not accept the field(s)" in response.content.decode()
    assert _snapshot(actors.customer) == before
    user = User.objects.get(pk=actors.customer.pk)
    assert (user.is_vip, user.email, user.last_name) == (False, actors.customer.email, "Diner")


# ---------------------------------------------------------------- hostile text

# Echoed back in the form so it can be corrected, but escaped.
HUGE = "<x>" + "x" * 100_000
CONTROL = "Home\x00\x07\x1b[31m"
BIDI_TRICK = "Home \u202etxt.exe"
PROFILE_FIELDS = ("first_name", "last_name", "phone")
ADDRESS_FIELDS = ("label", "street", "city", "postcode", "instructions")


@pytest.mark.parametrize(
    "value", [HUGE, CONTROL, BIDI_TRICK, "Line one\nLine two"], ids=["100kB", "control", "bidi", "newline"]
)
@pytest.mark.parametrize("field", PROFILE_FIELDS)
def test_hostile_profile_text_is_refused_not_stored(actors, field, value):
    response = client_for(actors.customer).post(reverse(INDEX), _profile_data(**{field: value}))

    assert response.status_code == 400
    assert "<x>" not in response.content.decode()
    user = User.objects.get(pk=actors.customer.pk)
    assert (user.first_name, user.last_name, user.phone) == ("Sam", "Diner", "")


@pytest.mark.parametrize(
    "value", [HUGE, CONTROL, BIDI_TRICK, "Line one\nLine two"], ids=["100kB", "control", "bidi", "newline"]
)
@pytest.mark.parametrize("field", ADDRESS_FIELDS)
def test_hostile_address_text_is_refused_not_stored(actors, field, value):
    home = _add(actors.customer)
    before = _snapshot(actors.customer)
    client = client_for(actors.customer)

    added = client.post(reverse(ADD), _address_data(**{field: value}))
    edited = client.post(_url("address_edit", home), _address_data(**{field: value}))

    assert (added.status_code, edited.status_code) == (400, 400)
    assert "<x>" not in added.content.decode() + edited.content.decode()
    assert _snapshot(actors.customer) == before


def test_right_to_left_text_and_markup_are_stored_as_typed_and_shown_escaped(actors):
    markup = '<script>alert("x")</script>'
    hebrew = "רחוב הרצל 12"
    arabic = "شارع الملك"
    client = client_for(actors.customer)

    assert client.post(reverse(INDEX), _profile_data(first_name=markup, last_name=hebrew)).status_code == 302
    data = {"label": markup[:40], "street": hebrew, "city": arabic, "postcode": "", "instructions": markup}
    assert client.post(reverse(ADD), data).status_code == 302

    address = Address.objects.get(user=actors.customer)
    assert (address.label, address.street, address.city, address.instructions) == (
        markup[:40],
        hebrew,
        arabic,
        markup,
    )
    assert User.objects.get(pk=actors.customer.pk).first_name == markup
    for url in (reverse(INDEX), _url("address_edit", address)):
        body = client.get(url).content.decode()
        assert "<script>alert" not in body
        assert html.escape(markup) in body or "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in body
        assert f"<bdi>{hebrew}" in body or f'value="{hebrew}"' in body


# ---------------------------------------------------------------- checkout prefill


def test_checkout_prefills_the_default_address_and_phone_of_a_signed_in_customer(actors, small_menu):
    customer = actors.customer
    customer.phone = "+44 131 555 0100"
    customer.save()
    _add(customer, label="Work", street="9 Quay", city="Leith", postcode="EH6 7BB", instructions="")
    _add(
        customer,
        label="Home",
        street="1 Harbour Street",
        city="Leith",
        instructions="Gate 42",
        make_default=True,
    )
    client = client_for(customer)
    add_to_cart(client, small_menu.fries)

    page = client.get(reverse("orders:checkout")).content.decode()

    assert 'value="+44 131 555 0100"' in page
    assert "1 Harbour Street, Leith\nGate 42</textarea>" in page
    assert "9 Quay" not in page


def test_checkout_prefills_nothing_for_a_customer_without_addresses_or_for_guests(actors, small_menu):
    client = client_for(actors.customer)
    add_to_cart(client, small_menu.fries)
    page = client.get(reverse("orders:checkout")).content.decode()
    assert (
        'name="delivery_address" cols="40" rows="3" maxlength="500" id="id_delivery_address">\n</textarea>'
        in page
    )

    guest = client_for(None)
    add_to_cart(guest, small_menu.fries)
    assert guest.get(reverse("orders:checkout")).status_code == 200


# ---------------------------------------------------------------- at the same moment


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_simultaneous_default_changes_leave_exactly_one_default(actors):
    addresses = [_add(actors.customer, label=f"Place {n}") for n in range(4)]

    outcomes = run_simultaneously(
        *[
            (lambda pk=address.pk: address_set_default(user=actors.customer, address_id=pk))
            for address in addresses
        ]
    )

    assert all(isinstance(outcome, Address) for outcome in outcomes), outcomes
    assert len(_defaults(actors.customer)) == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_simultaneous_adds_never_pass_the_limit_or_make_two_defaults(actors):
    for n in range(MAX_ADDRESSES_PER_USER - 2):
        _add(actors.customer, label=f"Place {n}")

    outcomes = run_simultaneously(
        *[(lambda n=n: _add(actors.customer, label=f"Rush {n}", make_default=True)) for n in range(4)]
    )

    added = [outcome for outcome in outcomes if isinstance(outcome, Address)]
    refused = [outcome for outcome in outcomes if isinstance(outcome, ApplicationError)]
    assert (len(added), len(refused)) == (2, 2), outcomes
    assert {error.code for error in refused} == {"too_many_addresses"}
    assert Address.objects.filter(user=actors.customer).count() == MAX_ADDRESSES_PER_USER
    assert len(_defaults(actors.customer)) == 1
