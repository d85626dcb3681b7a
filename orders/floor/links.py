"""The link a table's QR code holds, and the table it leaves in the visitor's session.

    /t/<table id>.<link version>:<signature>/

Signed with Django's `signing.Signer` (HMAC of SECRET_KEY under its own salt),
not restaurant/signing.py: that module signs webhook bodies under a shared
secret with a timestamp that must be recent, while a printed code carries no
time and must keep working for months. The link says which table and which
version of its code; whether that table is still in service, and that version
still its code, is read from the database when the link is followed.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.contrib.sessions.backends.base import SessionBase
from django.core import signing
from django.urls import reverse

from orders.floor.models import Table

_SALT = "orders.floor.table-link"
# What following a table's link leaves in the session: {"table": id, "link": version, "label": label}.
SESSION_KEY = "dine_in_table"


def _signer() -> signing.Signer:
    return signing.Signer(salt=_SALT, algorithm="sha256")


def table_link_token(table: Table) -> str:
    return _signer().sign(f"{table.pk}.{table.link_version}")


def table_link_url(table: Table) -> str:
    """The absolute link printed in the table's QR code (BRIGADE_BASE_URL: the site guests reach)."""
    return settings.BRIGADE_BASE_URL + reverse("orders:table_link", kwargs={"token": table_link_token(table)})


@dataclass(frozen=True)
class TableLink:
    table_id: int
    link_version: int


def table_link_read(token: str) -> TableLink | None:
    """What a link names, or None when it was not signed by us (edited, cut short, made up)."""
    try:
        value = _signer().unsign(token)
    except signing.BadSignature:
        return None
    table_id, _, version = value.partition(".")
    if not (table_id.isdigit() and version.isdigit()):
        return None
    return TableLink(table_id=int(table_id), link_version=int(version))


@dataclass(frozen=True)
class SessionTable:
    table_id: int
    link_version: int
    label: str


def session_table_remember(session: SessionBase, table: Table) -> None:
    session[SESSION_KEY] = {"table": table.pk, "link": table.link_version, "label": table.label}


def session_table(session: SessionBase | None) -> SessionTable | None:
    """The table this visitor's session came from by its QR code, as it was then (not checked again)."""
    raw = session.get(SESSION_KEY) if session is not None else None
    if not isinstance(raw, dict):
        return None
    table_id, version, label = raw.get("table"), raw.get("link"), raw.get("label")
    if not (isinstance(table_id, int) and isinstance(version, int) and isinstance(label, str)):
        return None
    return SessionTable(table_id=table_id, link_version=version, label=label)


def session_table_forget(session: SessionBase) -> None:
    session.pop(SESSION_KEY, None)
