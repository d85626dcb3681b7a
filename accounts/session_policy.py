"""How long a signed-in session lasts: an idle timeout for everyone, a shift for staff.

A stolen or forgotten session is worth less the sooner it ends. Customers
keep theirs for days (SESSION_IDLE_TIMEOUT_SECONDS without a request, at
most SESSION_COOKIE_AGE in all); staff, whose sessions open admin and the
kitchen, for a shift (STAFF_SESSION_IDLE_TIMEOUT_SECONDS idle, at most
STAFF_SESSION_MAX_AGE_SECONDS from sign-in, whatever the activity).

Django's own expiry slides with every save, so it cannot hold an absolute
lifetime: the sign-in time and the last request are kept in the session
and checked here on every request. An ended session is flushed as a
sign-out is (so its sockets close too), and the visitor carries on as a
guest with a message.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.signals import user_logged_in
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponse

from accounts.roles import STAFF_ROLES, roles_of
from accounts.security_events import security_event

SIGNED_IN_AT = "brigade:signed_in_at"
LAST_SEEN_AT = "brigade:last_seen_at"
# The last-seen mark is rewritten at most this often, so a busy page does not
# write its session back on every request.
_LAST_SEEN_RESOLUTION_SECONDS = 60


_ENDED_MESSAGES = {
    "idle": "You were signed out after a while without activity. Please sign in again.",
    "lifetime": "Your session has ended. Please sign in again.",
}


@receiver(user_logged_in, dispatch_uid="accounts.session_policy.signed_in")
def session_mark_signed_in(sender: Any, request: HttpRequest | None, **kwargs: Any) -> None:
    if request is None or not hasattr(request, "session"):
        return  # signed in outside a request (a test client's force_login still has one)
    now = int(time.time())
    request.session[SIGNED_IN_AT] = now
    request.session[LAST_SEEN_AT] = now


def _limits(user: Any) -> tuple[int, int]:
    """(idle timeout, absolute lifetime) in seconds for the signed-in user."""
    if roles_of(user) & STAFF_ROLES:
        return settings.STAFF_SESSION_IDLE_TIMEOUT_SECONDS, settings.STAFF_SESSION_MAX_AGE_SECONDS
    return settings.SESSION_IDLE_TIMEOUT_SECONDS, settings.SESSION_COOKIE_AGE


def session_ended_because(*, session: Any, user: Any, now: int | None = None) -> str | None:
    """ "idle" or "lifetime" when this signed-in session is over, else None.

    Pages ask through the middleware below; live sockets ask the same
    question when they re-check who is listening.
    """
    now = int(time.time()) if now is None else now
    idle_limit, absolute_limit = _limits(user)
    # A session from before these marks existed counts from now on.
    signed_in_at = int(session.get(SIGNED_IN_AT, now))
    last_seen_at = int(session.get(LAST_SEEN_AT, now))
    if now - last_seen_at > idle_limit:
        return "idle"
    if now - signed_in_at > absolute_limit:
        return "lifetime"
    return None


class SessionLifetimeMiddleware:
    """Ends signed-in sessions that were idle too long or have lived their span.

    Placed after AuthenticationMiddleware (it needs request.user) and
    MessageMiddleware (it tells the visitor why they were signed out).
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.user.is_authenticated:
            now = int(time.time())
            reason = session_ended_because(session=request.session, user=request.user, now=now)
            if reason is not None:
                user_id = request.user.pk
                logout(request)
                security_event("session ended", request=request, user_id=user_id, reason=reason)
                messages.info(request, _ENDED_MESSAGES[reason])
            else:
                if SIGNED_IN_AT not in request.session:
                    request.session[SIGNED_IN_AT] = now
                if now - int(request.session.get(LAST_SEEN_AT, 0)) >= _LAST_SEEN_RESOLUTION_SECONDS:
                    request.session[LAST_SEEN_AT] = now
        return self.get_response(request)
