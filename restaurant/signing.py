"""The one HMAC signature Brigade speaks, for payment webhooks it receives and partner webhooks it sends.

    <header>: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>

Stripe's scheme; the sandbox provider and docs/partner-webhooks.md use it too.
Several v1 values may appear (a secret being rotated); one matching is enough.
"""

from __future__ import annotations

import hashlib
import hmac
import time


class SignatureError(Exception):
    """Why a signature header was refused: `code` is malformed, mismatch, stale or future."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


def sign(secret: str, timestamp: int, body: bytes | str) -> str:
    """The hex HMAC-SHA256 of "<timestamp>.<body>" under `secret`."""
    raw = body.encode() if isinstance(body, str) else body
    return hmac.new(secret.encode(), str(timestamp).encode() + b"." + raw, hashlib.sha256).hexdigest()


def signature_header(secret: str, timestamp: int, body: bytes | str) -> str:
    return f"t={timestamp},v1={sign(secret, timestamp, body)}"


def signature_check(
    *, secret: str, header: str, body: bytes | str, tolerance: int, now: float | None = None
) -> None:
    """Raises SignatureError unless `header` signs exactly `body` with `secret`, within `tolerance` s of now.

    The body must be the raw bytes received, before any parsing. The match is
    checked before the time, so a forged header learns nothing from the clock;
    timestamps too far in the future are refused like stale ones, or a captured
    request could be replayed later by moving its clock ahead.
    """
    if not secret:
        # An empty key would let anyone sign.
        raise SignatureError("malformed")
    timestamp: int | None = None
    candidates: list[bytes] = []
    for part in header.split(","):
        key, has_value, value = part.strip().partition("=")
        if not has_value:
            continue
        if key == "t":
            try:
                timestamp = int(value)
            except ValueError as error:
                raise SignatureError("malformed") from error
        elif key == "v1":
            # Bytes: compare_digest refuses a non-ASCII str, which a forged header may hold.
            candidates.append(value.encode("utf-8", "replace"))
    if timestamp is None or not candidates:
        raise SignatureError("malformed")
    expected = sign(secret, timestamp, body).encode()
    # Constant time, and every candidate compared: no early exit tells which was close.
    matches = [hmac.compare_digest(expected, candidate) for candidate in candidates]
    if not any(matches):
        raise SignatureError("mismatch")
    age = (time.time() if now is None else now) - timestamp
    if age > tolerance:
        raise SignatureError("stale")
    if age < -tolerance:
        raise SignatureError("future")
