"""Where a partner webhook may go: the public internet only, never inside our own network.

A manager types the partner's URL. Were internal addresses allowed, the
delivery log (status code, error class) would let whoever holds the admin
scan our ports and read a cloud metadata service. So a URL is checked when
it is saved (the Partner model's validator) and again when each request is
sent, after DNS resolution: every address the name resolves to must be
public, and the request then connects to that vetted address (Host header
and TLS name stay the partner's), so a name that resolves elsewhere a
moment later (DNS rebinding) cannot redirect it.

PARTNER_WEBHOOK_ALLOW_PRIVATE_NETWORKS turns the address check off, for
tests whose partner listens on 127.0.0.1; settings refuse it in production.
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

INTERNAL_MESSAGE = (
    "Partner webhooks go to the public internet only: this address is inside a private network "
    "(loopback, private, link-local or cloud metadata, multicast, reserved or unspecified)."
)
HTTPS_MESSAGE = "Partner webhooks must use https."
MALFORMED_MESSAGE = "Enter an http(s) URL with a host name."
# Names that never leave the machine or the local network, whatever DNS says.
_LOCAL_SUFFIXES = (".localhost", ".local", ".localdomain", ".internal", ".home.arpa", ".lan")
# NAT64 (RFC 6052): an IPv6 address that carries an IPv4 one in its last 32 bits.
_NAT64 = ipaddress.ip_network("64:ff9b::/96")


class PartnerURLRefused(Exception):
    """A partner URL that may not be sent to; `message` is our own wording, fit for the delivery log."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class Destination:
    """A vetted URL: its host as written (Host header, TLS name), its port and the address to connect to."""

    scheme: str
    host: str
    port: int
    address: str


def is_internal(address: IPAddress) -> bool:
    """Whether an address is anything but a public unicast one, IPv4 carried in IPv6 included."""
    if isinstance(address, ipaddress.IPv6Address):
        carried = address.ipv4_mapped or address.sixtofour
        if carried is None and address in _NAT64:
            carried = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
        if carried is not None:
            return is_internal(carried)
    return (
        not address.is_global
        or address.is_private
        or address.is_loopback
        or address.is_link_local
        or address.is_multicast
        or address.is_reserved
        or address.is_unspecified
    )


def _literal_address(host: str) -> IPAddress | None:
    """The address a host names without DNS: dotted, IPv6, or the legacy forms inet_aton takes.

    http://2130706433/, http://0x7f.1/ and http://0177.0.0.1/ are all 127.0.0.1
    to the resolver; inet_aton reads them the same way.
    """
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        pass
    try:
        return ipaddress.IPv4Address(socket.inet_aton(host))
    except OSError:
        return None


def _parts(url: str) -> tuple[str, str, int]:
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise PartnerURLRefused(MALFORMED_MESSAGE) from exc
    scheme, host = parts.scheme.lower(), (parts.hostname or "").rstrip(".")
    if scheme not in {"http", "https"} or not host:
        raise PartnerURLRefused(MALFORMED_MESSAGE)
    if settings.PRODUCTION and scheme != "https":
        raise PartnerURLRefused(HTTPS_MESSAGE)
    return scheme, host, port or (443 if scheme == "https" else 80)


def _resolve(host: str, port: int) -> list[IPAddress]:
    """Every address the name has; OSError (socket.gaierror) when it has none."""
    found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(ipaddress.ip_address(str(info[4][0]).split("%", 1)[0]) for info in found))


def _refuse_internal(host: str, addresses: list[IPAddress]) -> None:
    if settings.PARTNER_WEBHOOK_ALLOW_PRIVATE_NETWORKS:
        return
    if host == "localhost" or host.endswith(_LOCAL_SUFFIXES) or any(is_internal(a) for a in addresses):
        raise PartnerURLRefused(INTERNAL_MESSAGE)


def partner_url_destination(url: str) -> Destination:
    """Where to send a request for `url`, checked after resolution; raises PartnerURLRefused.

    OSError (a name that does not resolve) propagates: DNS may answer later.
    """
    scheme, host, port = _parts(url)
    literal = _literal_address(host)
    addresses = [literal] if literal is not None else _resolve(host, port)
    _refuse_internal(host, addresses)
    return Destination(scheme=scheme, host=host, port=port, address=str(addresses[0]))


def validate_partner_url(url: str) -> None:
    """The model's validator: the same checks as a send, on what is known when the URL is saved.

    A name that does not resolve yet is accepted (the partner may set it up
    later); every send resolves and checks it again.
    """
    try:
        _scheme, host, port = _parts(url)
        literal = _literal_address(host)
        if literal is not None:
            _refuse_internal(host, [literal])
            return
        try:
            addresses = _resolve(host, port)
        except OSError:
            addresses = []
        _refuse_internal(host, addresses)
    except PartnerURLRefused as refused:
        raise ValidationError(refused.message, code="partner_url_refused") from refused
