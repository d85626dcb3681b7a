"""Second factors for tests, made and read with allauth's own TOTP code."""

from __future__ import annotations

import time

from allauth.mfa.recovery_codes.internal.auth import RecoveryCodes
from allauth.mfa.totp.internal.auth import TOTP, format_hotp_value, generate_totp_secret, hotp_value

from accounts.models import User


def totp_for(user: User) -> str:
    """Gives the user an authenticator app (and recovery codes, as allauth does); its secret."""
    secret = generate_totp_secret()
    TOTP.activate(user, secret)
    RecoveryCodes.activate(user)
    return secret


def totp_code(secret: str, step: int = 0) -> str:
    """What the app shows now (step 0), or `step` periods away (MFA_TOTP_TOLERANCE allows ±1)."""
    return format_hotp_value(hotp_value(secret, int(time.time()) // 30 + step))


def recovery_codes_of(user: User) -> list[str]:
    return RecoveryCodes(user.authenticator_set.get(type="recovery_codes")).get_unused_codes()
