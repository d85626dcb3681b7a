"""Security events as structured log lines, without secrets or personal data.

Accounts appear as a short keyed hash of the email, so events about one
account can be correlated in the logs without the logs holding the address.
"""

from __future__ import annotations

import hashlib
import hmac
import logging

from django.conf import settings
from django.http import HttpRequest

logger = logging.getLogger("brigade.security")


def account_ref(identifier: str) -> str:
    normalized = identifier.strip().lower().encode()
    return hmac.new(settings.SECRET_KEY.encode(), normalized, hashlib.sha256).hexdigest()[:16]


def client_ip(request: HttpRequest | None) -> str | None:
    if request is None:
        return None
    return request.META.get(getattr(settings, "RATELIMIT_IP_META_KEY", None) or "REMOTE_ADDR")


def security_event(event: str, *, request: HttpRequest | None = None, **fields: object) -> None:
    logger.info(event, extra={"event": event, "ip": client_ip(request), **fields})
