"""One signature for payment webhooks and partner webhooks: what one side signs, the other checks."""

from __future__ import annotations

import time

import pytest

from orders.partners.services import verify as partner_verify
from orders.payments.base import WebhookRejected, sign_payload, verify_signature
from restaurant.signing import SignatureError, signature_check, signature_header

BODY = b'{"type": "order.paid", "id": 7}'


def test_a_partner_signature_is_a_payment_signature_and_back():
    now = int(time.time())
    # Given a header as a partner receives it and one as the sandbox provider sends it
    sent_to_partner = signature_header("s3cret", now, BODY)
    from_provider = sign_payload(secret="s3cret", timestamp=now, body=BODY)

    # Then they are the same, and each side accepts the other's
    assert sent_to_partner == from_provider
    verify_signature(secret="s3cret", header=sent_to_partner, body=BODY, tolerance=300)
    assert partner_verify("s3cret", from_provider, BODY)


@pytest.mark.parametrize(
    ("header", "code"),
    [
        ("", "malformed"),
        ("t=abc,v1=00", "malformed"),
        ("t=1", "malformed"),
        ("t={now},v1=é" + "0" * 63, "mismatch"),  # non-ASCII: compared as bytes, refused, never a TypeError
        ("t={now},v1=" + "0" * 64, "mismatch"),
        ("t={old},v1={old_sig}", "stale"),
        ("t={soon},v1={soon_sig}", "future"),
    ],
)
def test_a_bad_header_is_refused_with_its_reason(header, code):
    now = int(time.time())
    values = {
        "now": now,
        "old": now - 301,
        "old_sig": signature_header("s3cret", now - 301, BODY).split("v1=")[1],
        "soon": now + 301,
        "soon_sig": signature_header("s3cret", now + 301, BODY).split("v1=")[1],
    }
    with pytest.raises(SignatureError) as refused:
        signature_check(secret="s3cret", header=header.format(**values), body=BODY, tolerance=300)
    assert refused.value.code == code
    assert not partner_verify("s3cret", header.format(**values), BODY)
    with pytest.raises(WebhookRejected):
        verify_signature(secret="s3cret", header=header.format(**values), body=BODY, tolerance=300)


def test_an_empty_secret_signs_nothing():
    now = int(time.time())
    with pytest.raises(SignatureError):
        signature_check(secret="", header=signature_header("", now, BODY), body=BODY, tolerance=300)
