"""Every write to a customer's own details and saved addresses goes through here.

Each function is one transaction. Writes to one customer's addresses take a
lock on that customer's row first, so the limit of saved addresses and the
single default hold even when two requests arrive together (two tabs, a
double click). An address id that is not this customer's is NotFound, the
same answer as for an id that does not exist.
"""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass

from django.conf import settings
from django.core import signing
from django.core.cache import cache
from django.db import models, transaction
from django.utils import timezone
from rest_framework_simplejwt.exceptions import TokenError
from rest_framework_simplejwt.tokens import RefreshToken

from accounts.models import Address, AppSession, User
from accounts.selectors import app_session_current
from restaurant.cache_versions import CACHE_ERRORS
from restaurant.errors import ApplicationError, NotFound

MAX_ADDRESSES_PER_USER = 10
# Primary keys are 64-bit; a larger id from a URL can only be "not found".
_MAX_ID = 2**63 - 1


def _check_lengths(model: type[models.Model], **values: str) -> None:
    """Refuse (never truncate) text longer than its column; forms say so first."""
    for name, value in values.items():
        limit = model._meta.get_field(name).max_length  # type: ignore[union-attr]
        if limit is not None and len(value) > limit:
            raise ApplicationError(
                f"{name.replace('_', ' ').capitalize()} is limited to {limit} characters.",
                code="too_long",
                data={"field": name, "limit": limit},
            )


def _lock_user(user: User) -> None:
    list(User.objects.select_for_update().filter(pk=user.pk).values_list("pk", flat=True))


def _own_address(*, user: User, address_id: int) -> Address:
    if not 0 < address_id <= _MAX_ID:
        raise NotFound("No such address.", code="address_not_found")
    address = Address.objects.select_for_update().filter(user=user, pk=address_id).first()
    if address is None:
        raise NotFound("No such address.", code="address_not_found")
    return address


def _make_default(address: Address) -> None:
    """Moves the customer's default to this address (caller holds the user lock).

    The old default is cleared first: the partial unique constraint allows
    at most one default per customer at every moment.
    """
    Address.objects.filter(user_id=address.user_id, is_default=True).exclude(pk=address.pk).update(
        is_default=False
    )
    if not address.is_default:
        address.is_default = True
        address.save(update_fields=["is_default"])


@transaction.atomic
def profile_update(*, user: User, first_name: str, last_name: str, phone: str) -> User:
    _check_lengths(User, first_name=first_name, last_name=last_name, phone=phone)
    user.first_name = first_name
    user.last_name = last_name
    user.phone = phone
    user.save(update_fields=["first_name", "last_name", "phone"])
    return user


@transaction.atomic
def address_add(
    *,
    user: User,
    label: str,
    street: str,
    city: str,
    postcode: str,
    instructions: str,
    make_default: bool,
) -> Address:
    """Saves a new address. The customer's first address becomes the default."""
    _check_lengths(
        Address, label=label, street=street, city=city, postcode=postcode, instructions=instructions
    )
    _lock_user(user)
    saved = Address.objects.filter(user=user)
    if saved.count() >= MAX_ADDRESSES_PER_USER:
        raise ApplicationError(
            f"You can save up to {MAX_ADDRESSES_PER_USER} addresses. "
            "Delete one you no longer use to add another.",
            code="too_many_addresses",
            data={"limit": MAX_ADDRESSES_PER_USER},
        )
    is_default = make_default or not saved.filter(is_default=True).exists()
    if is_default:
        # Cleared before the insert: one default per customer at every moment.
        saved.filter(is_default=True).update(is_default=False)
    return Address.objects.create(
        user=user,
        label=label,
        street=street,
        city=city,
        postcode=postcode,
        instructions=instructions,
        is_default=is_default,
    )


@transaction.atomic
def address_update(
    *,
    user: User,
    address_id: int,
    label: str,
    street: str,
    city: str,
    postcode: str,
    instructions: str,
    make_default: bool = False,
) -> Address:
    """Changes one of the customer's addresses; make_default=False leaves the default where it is."""
    _check_lengths(
        Address, label=label, street=street, city=city, postcode=postcode, instructions=instructions
    )
    _lock_user(user)
    address = _own_address(user=user, address_id=address_id)
    address.label = label
    address.street = street
    address.city = city
    address.postcode = postcode
    address.instructions = instructions
    address.save(update_fields=["label", "street", "city", "postcode", "instructions"])
    if make_default:
        _make_default(address)
    return address


@transaction.atomic
def address_delete(*, user: User, address_id: int) -> None:
    """Deletes one of the customer's addresses.

    When it was the default, the oldest remaining address becomes the
    default, so a customer with saved addresses always has one.
    """
    _lock_user(user)
    address = _own_address(user=user, address_id=address_id)
    was_default = address.is_default
    address.delete()
    if was_default:
        successor = Address.objects.filter(user=user).order_by("created_at", "pk").first()
        if successor is not None:
            _make_default(successor)


@transaction.atomic
def address_set_default(*, user: User, address_id: int) -> Address:
    _lock_user(user)
    address = _own_address(user=user, address_id=address_id)
    _make_default(address)
    return address


# ---------------------------------------------------------------- app sessions (JWT for mobile apps)

# The claim naming the AppSession a token belongs to; checked on every request.
SESSION_CLAIM = "sid"


class TokenRefused(ApplicationError):
    """A refresh token that is expired, forged, already used, or of an ended session."""

    status = 401
    default_code = "token_refused"


@dataclass(frozen=True)
class AppTokens:
    access: str
    refresh: str
    access_expires_in: int  # seconds
    refresh_expires_in: int


def _tokens_mint(*, user: User, session_id: uuid.UUID) -> tuple[AppTokens, str]:
    """A fresh access and refresh pair for the session; the refresh token's jti with it."""
    refresh = RefreshToken.for_user(user)
    refresh[SESSION_CLAIM] = str(session_id)
    access = refresh.access_token
    tokens = AppTokens(
        access=str(access),
        refresh=str(refresh),
        access_expires_in=int(access.lifetime.total_seconds()),
        refresh_expires_in=int(refresh.lifetime.total_seconds()),
    )
    return tokens, str(refresh["jti"])


def app_session_start(*, user: User) -> AppTokens:
    """Signs an app in (its password and second factor already checked by the door)."""
    session_id = uuid.uuid4()
    tokens, jti = _tokens_mint(user=user, session_id=session_id)
    with transaction.atomic():
        AppSession.objects.create(
            id=session_id, user=user, refresh_jti=jti, auth_hash=user.get_session_auth_hash()
        )
    return tokens


def app_session_end(*, session_id: str | uuid.UUID, reason: str) -> bool:
    """Ends the session: its tokens are refused from the next request on, its sockets close now."""
    from accounts.socket_access import user_sockets_recheck

    open_session = AppSession.objects.filter(pk=session_id, ended_at__isnull=True)
    with transaction.atomic():
        user_id = open_session.values_list("user_id", flat=True).first()
        ended = open_session.update(ended_at=timezone.now(), ended_because=reason[:40])
        if ended == 1 and user_id is not None:
            # After commit: each of the user's sockets asks again, and an app's finds its session over.
            user_sockets_recheck(user_id=user_id)
    return ended == 1


def app_session_refresh(*, refresh: str) -> AppTokens:
    """Rotation: the refresh token is swapped for a new pair and is never good again.

    The swap is a conditional UPDATE on the jti the session expects, so of two
    requests with one refresh token exactly one gets the new pair. A refresh
    token used a second time means a copy is in someone else's hands: the
    whole session ends, for the thief and the app alike (the app signs in again).
    """
    try:
        token = RefreshToken(refresh)  # type: ignore[arg-type]  # simplejwt's stubs want bytes
    except TokenError as error:
        raise TokenRefused("This refresh token is not valid or has expired.") from error
    jti = str(token.get("jti", ""))
    session = app_session_current(session_id=token.get(SESSION_CLAIM))
    if session is None:
        raise TokenRefused("This sign-in has ended. Sign in again.", code="session_ended")
    tokens, new_jti = _tokens_mint(user=session.user, session_id=session.pk)
    with transaction.atomic():
        swapped = AppSession.objects.filter(pk=session.pk, refresh_jti=jti, ended_at__isnull=True).update(
            refresh_jti=new_jti, refreshed_at=timezone.now()
        )
    if swapped != 1:
        app_session_end(session_id=session.pk, reason="refresh token reused")
        raise TokenRefused("This refresh token was already used. Sign in again.", code="token_reused")
    return tokens


# ---------------------------------------------------------------- socket tickets (apps' websockets)

_TICKET_SALT = "brigade.socket-ticket"


def socket_ticket_issue(*, session_id: str | uuid.UUID) -> str:
    """A ticket to open one websocket as this app session: signed, single-use, SOCKET_TICKET_SECONDS long.

    An app cannot set a cookie or a header on a browser-style websocket, and a
    token in a URL ends up in logs and histories: the URL carries this ticket
    instead, which is worthless once used or a few seconds old.
    """
    return signing.dumps({"sid": str(session_id), "n": secrets.token_urlsafe(16)}, salt=_TICKET_SALT)


def socket_ticket_redeem(*, ticket: str) -> AppSession | None:
    """The app session a ticket was issued to, once; None for a used, stale, forged or ended one."""
    try:
        claim = signing.loads(ticket[:512], salt=_TICKET_SALT, max_age=settings.SOCKET_TICKET_SECONDS)
    except signing.BadSignature:
        return None
    if not isinstance(claim, dict) or not isinstance(claim.get("n"), str):
        return None
    try:
        # The first redeemer adds the mark; anyone later finds it there.
        first = cache.add(f"socket-ticket:{claim['n']}", 1, timeout=settings.SOCKET_TICKET_SECONDS + 5)
    except CACHE_ERRORS:
        return None  # single use cannot be proven: the app asks for a new ticket
    if not first:
        return None
    return app_session_current(session_id=claim.get("sid"))
