"""Sign-in for apps (JWT) and the signed-in person's own account (profile, addresses), over the API.

The account doors call accounts.services, as the account page does.

Getting tokens is a sign-in door like the pages' (accounts.views): it goes
through the one sign-in limiter (accounts.sign_in_limits) before it looks at
the password, a wrong password spends the account's failure budget (the
user_login_failed signal), email verification is required as on the page,
and an account with a second factor must send its code.
"""

from __future__ import annotations

from typing import Any

from allauth.account.utils import has_verified_email
from allauth.core import context as allauth_context
from allauth.mfa.base.forms import AuthenticateForm
from allauth.mfa.utils import is_mfa_enabled
from django.conf import settings
from django.contrib.auth import authenticate
from django.http.response import HttpResponseBase
from django.urls import path
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.forms import column_max_length
from accounts.models import Address, User
from accounts.selectors import addresses_of
from accounts.services import (
    SESSION_CLAIM,
    AppTokens,
    address_add,
    address_delete,
    address_set_default,
    address_update,
    app_session_end,
    app_session_refresh,
    app_session_start,
    profile_update,
    socket_ticket_issue,
)
from accounts.sign_in_limits import sign_in_attempt
from restaurant.api.serializers import StrictInput
from restaurant.api.views import ApiView
from restaurant.errors import ApplicationError, Forbidden
from restaurant.validators import refuse_invisible_controls, validate_phone

# Long enough for any real password; bounded so a hostile body costs nothing to refuse.
PASSWORD_MAX_LENGTH = 1024


class SignInRefused(ApplicationError):
    status = 401
    default_code = "sign_in_refused"


class TokensOutput(serializers.Serializer[AppTokens]):
    token_type = serializers.SerializerMethodField()
    access = serializers.CharField()
    refresh = serializers.CharField()
    access_expires_in = serializers.IntegerField(help_text="Seconds the access token is good for.")
    refresh_expires_in = serializers.IntegerField(
        help_text="Seconds the refresh token is good for, if unused."
    )

    def get_token_type(self, tokens: AppTokens) -> str:
        return "Bearer"


class TokenObtainApi(ApiView):
    # Credentials travel in the body: no session, so no CSRF, and no earlier token.
    authentication_classes = ()
    permission_classes = (AllowAny,)

    class Input(StrictInput):
        email = serializers.EmailField(max_length=254)
        password = serializers.CharField(max_length=PASSWORD_MAX_LENGTH, trim_whitespace=False)
        code = serializers.CharField(
            max_length=64, required=False, help_text="The second factor's code, for accounts that have one."
        )

    @extend_schema(operation_id="auth_token_obtain", request=Input, responses={200: TokensOutput})
    def post(self, request: Request) -> HttpResponseBase:
        """Signs an app in: an access token (minutes) and a refresh token (days)."""
        login = request.data.get("email") if isinstance(request.data, dict) else None
        refused = sign_in_attempt(
            request._request, door="api token", login=login if isinstance(login, str) else ""
        )
        if refused is not None:
            return refused
        data = self.Input(data=request.data)
        data.is_valid(raise_exception=True)
        email, password = data.validated_data["email"], data.validated_data["password"]
        user = authenticate(request._request, email=email, password=password)
        if not isinstance(user, User) or not user.is_active:
            raise SignInRefused("The email address and password do not match an account.")
        if not has_verified_email(user, user.email):
            raise Forbidden(
                "Confirm your email address first: follow the link we sent you.", code="email_not_verified"
            )
        if is_mfa_enabled(user):
            self._check_second_factor(request, user, data.validated_data.get("code", ""))
        return Response(TokensOutput(app_session_start(user=user)).data)

    def _check_second_factor(self, request: Request, user: User, code: str) -> None:
        if not code:
            raise SignInRefused("This account has a second factor: send its code too.", code="code_required")
        # allauth's own check: TOTP or a recovery code; a wrong one is recorded
        # (its authentication_failed signal spends the account's failure budget).
        with allauth_context.request_context(request._request):
            form = AuthenticateForm(data={"code": code}, user=user)
            if not form.is_valid():
                raise SignInRefused("That code is not right.", code="code_incorrect")


class TokenRefreshApi(ApiView):
    authentication_classes = ()
    permission_classes = (AllowAny,)

    class Input(StrictInput):
        refresh = serializers.CharField(max_length=2048)

    @extend_schema(operation_id="auth_token_refresh", request=Input, responses={200: TokensOutput})
    def post(self, request: Request) -> Response:
        """A new access and refresh pair; the refresh token sent is never good again."""
        data = self.Input(data=request.data)
        data.is_valid(raise_exception=True)
        return Response(TokensOutput(app_session_refresh(refresh=data.validated_data["refresh"])).data)


class SignOutApi(ApiView):
    @extend_schema(
        operation_id="auth_sign_out",
        request=None,
        responses={204: OpenApiResponse(description="Signed out.")},
    )
    def post(self, request: Request) -> Response:
        """Ends the app's sign-in: its access and refresh tokens are refused from the next request."""
        self.refuse_body(request)
        app_session_end(session_id=_app_session_of(request), reason="signed out")
        return Response(status=status.HTTP_204_NO_CONTENT)


def _app_session_of(request: Request) -> str:
    session_id = request.auth.get(SESSION_CLAIM) if hasattr(request.auth, "get") else None
    if session_id is None:
        raise ApplicationError(
            "This is for apps signed in with a token; browsers use their session.", code="not_an_app_session"
        )
    return str(session_id)


class SocketTicketApi(ApiView):
    class Output(serializers.Serializer[Any]):
        ticket = serializers.CharField(help_text="Add it to the socket's URL as ?ticket=…; good once.")
        expires_in = serializers.IntegerField(help_text="Seconds within which to open the socket.")

    @extend_schema(operation_id="sockets_ticket_create", request=None, responses={201: Output})
    def post(self, request: Request) -> Response:
        """A one-time ticket to open a live socket (/ws/kitchen/, /ws/orders/<token>/) as this app."""
        self.refuse_body(request)
        ticket = socket_ticket_issue(session_id=_app_session_of(request))
        return Response(
            self.Output({"ticket": ticket, "expires_in": settings.SOCKET_TICKET_SECONDS}).data,
            status=status.HTTP_201_CREATED,
        )


class ProfileOutput(serializers.Serializer[User]):
    id = serializers.IntegerField()
    email = serializers.EmailField()
    first_name = serializers.CharField()
    last_name = serializers.CharField()
    phone = serializers.CharField()
    is_vip = serializers.BooleanField()


def _text(model: type[Any], name: str, *, required: bool = True) -> serializers.CharField:
    """A text field bounded by its column, refusing invisible controls, as the account page's forms."""
    return serializers.CharField(
        max_length=column_max_length(model, name),
        required=required,
        allow_blank=not required,
        default="" if not required else serializers.empty,
        validators=[refuse_invisible_controls],
    )


class MeApi(ApiView):
    @extend_schema(operation_id="me_read", responses={200: ProfileOutput})
    def get(self, request: Request) -> Response:
        """The signed-in person's own profile."""
        return Response(ProfileOutput(request.user).data)  # type: ignore[arg-type]  # IsAuthenticated


class MeUpdateApi(ApiView):
    class Input(StrictInput):
        first_name = _text(User, "first_name", required=False)
        last_name = _text(User, "last_name", required=False)
        phone = _text(User, "phone", required=False)

        def validate_phone(self, value: str) -> str:
            if value:
                validate_phone(value)
            return value

    @extend_schema(operation_id="me_update", request=Input, responses={200: ProfileOutput})
    def post(self, request: Request) -> Response:
        """Changes one's name and phone (the email address is changed on the account page, verified)."""
        data = self.Input(data=request.data)
        data.is_valid(raise_exception=True)
        user = profile_update(user=request.user, **data.validated_data)  # type: ignore[arg-type]
        return Response(ProfileOutput(user).data)


class AddressOutput(serializers.Serializer[Address]):
    id = serializers.IntegerField()
    label = serializers.CharField()  # type: ignore[assignment]  # a field named like Field.label
    street = serializers.CharField()
    city = serializers.CharField()
    postcode = serializers.CharField()
    instructions = serializers.CharField()
    is_default = serializers.BooleanField()


class AddressInput(StrictInput):
    label = _text(Address, "label")  # type: ignore[assignment]  # a field named like Field.label
    street = _text(Address, "street")
    city = _text(Address, "city")
    postcode = _text(Address, "postcode", required=False)
    instructions = _text(Address, "instructions", required=False)
    make_default = serializers.BooleanField(required=False, default=False)


class AddressListApi(ApiView):
    @extend_schema(operation_id="me_addresses_list", responses={200: AddressOutput(many=True)})
    def get(self, request: Request) -> Response:
        """Saved delivery addresses, the default first."""
        return Response(AddressOutput(addresses_of(user=request.user), many=True).data)  # type: ignore[arg-type]


class AddressCreateApi(ApiView):
    @extend_schema(operation_id="me_addresses_create", request=AddressInput, responses={201: AddressOutput})
    def post(self, request: Request) -> Response:
        """Saves an address (at most MAX_ADDRESSES_PER_USER); the first one becomes the default."""
        data = AddressInput(data=request.data)
        data.is_valid(raise_exception=True)
        address = address_add(user=request.user, **data.validated_data)  # type: ignore[arg-type]
        return Response(AddressOutput(address).data, status=status.HTTP_201_CREATED)


class AddressUpdateApi(ApiView):
    @extend_schema(operation_id="me_addresses_update", request=AddressInput, responses={200: AddressOutput})
    def post(self, request: Request, address_id: int) -> Response:
        """Changes one saved address; an id that is not the caller's is a 404."""
        data = AddressInput(data=request.data)
        data.is_valid(raise_exception=True)
        address = address_update(
            user=request.user,  # type: ignore[arg-type]
            address_id=address_id,
            **data.validated_data,
        )
        return Response(AddressOutput(address).data)


class AddressDeleteApi(ApiView):
    @extend_schema(
        operation_id="me_addresses_delete",
        request=None,
        responses={204: OpenApiResponse(description="Deleted.")},
    )
    def post(self, request: Request, address_id: int) -> Response:
        """Deletes one saved address; if it was the default, the next one becomes it."""
        self.refuse_body(request)
        address_delete(user=request.user, address_id=address_id)  # type: ignore[arg-type]
        return Response(status=status.HTTP_204_NO_CONTENT)


class AddressDefaultApi(ApiView):
    @extend_schema(operation_id="me_addresses_make_default", request=None, responses={200: AddressOutput})
    def post(self, request: Request, address_id: int) -> Response:
        """Makes one saved address the default (prefilled at checkout)."""
        self.refuse_body(request)
        address = address_set_default(user=request.user, address_id=address_id)  # type: ignore[arg-type]
        return Response(AddressOutput(address).data)


urlpatterns: list[Any] = [
    path("auth/token/", TokenObtainApi.as_view(), name="auth_token"),
    path("auth/token/refresh/", TokenRefreshApi.as_view(), name="auth_token_refresh"),
    path("auth/sign-out/", SignOutApi.as_view(), name="auth_sign_out"),
    path("sockets/ticket/", SocketTicketApi.as_view(), name="sockets_ticket"),
    path("me/", MeApi.as_view(), name="me"),
    path("me/update/", MeUpdateApi.as_view(), name="me_update"),
    path("me/addresses/", AddressListApi.as_view(), name="me_addresses"),
    path("me/addresses/create/", AddressCreateApi.as_view(), name="me_address_create"),
    path("me/addresses/<id:address_id>/update/", AddressUpdateApi.as_view(), name="me_address_update"),
    path("me/addresses/<id:address_id>/delete/", AddressDeleteApi.as_view(), name="me_address_delete"),
    path("me/addresses/<id:address_id>/default/", AddressDefaultApi.as_view(), name="me_address_default"),
]
