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

from restaurant.client_ip import client_ip

logger = logging.getLogger("brigade.security")


def account_ref(identifier: str) -> str:
    normalized = identifier.strip().lower().encode()
    return hmac.new(settings.SECRET_KEY.encode(), normalized, hashlib.sha256).hexdigest()[:16]


def security_event(event: str, *, request: HttpRequest | None = None, **fields: object) -> None:
    ip = client_ip(request) if request is not None else None
    logger.info(event, extra={"event": event, "ip": ip, **fields})
