"""Which voice-provider endpoints the service may call: public HTTPS hosts on allowed ports.

A URL's text says little about where it leads (``https://2130706433``, ``https://localhost.``, a name
under nip.io that answers 10.0.0.1), so the host is resolved and every address it resolves to must be
a public unicast address. The same check runs at registration and before every send, and the send
connects to the address that was checked instead of resolving the name again (DNS rebinding).
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from urllib.parse import urlsplit

from scheduled_comms.errors import EndpointRefused, EndpointUnresolved, HostUnresolved
from scheduled_comms.ports import HostResolver, IPAddress

DEFAULT_PORTS = frozenset({443})
# Names that never lead to a public host, whatever a resolver answers for them (RFC 6761, RFC 6762, ICANN).
_SPECIAL_NAMES = ("localhost", "localhost.localdomain")
_SPECIAL_SUFFIXES = (".localhost", ".local", ".internal", ".localdomain", ".home.arpa")


@dataclass(frozen=True)
class EndpointRules:
    """The ports HTTPS endpoints may use, and the local stack's one allowance.

    ``loopback_http`` lets plain HTTP reach a host that resolves only to loopback addresses, on any port:
    the local voice simulator. No setting or environment variable turns it on; only the local stack
    (tools/, never deployed) and the tests do.
    """

    ports: frozenset[int] = DEFAULT_PORTS
    loopback_http: bool = False


@dataclass(frozen=True)
class CheckedEndpoint:
    """An endpoint that passed the rules: connect to ``address``, name ``host`` in TLS and the Host header."""

    scheme: str
    host: str
    port: int
    address: IPAddress
    target: str = "/"

    @property
    def host_header(self) -> str:
        name = f"[{self.host}]" if ":" in self.host else self.host
        default = 443 if self.scheme == "https" else 80
        return name if self.port == default else f"{name}:{self.port}"


def _embedded_ipv4(address: ipaddress.IPv6Address) -> list[ipaddress.IPv4Address]:
    """IPv4 addresses an IPv6 address carries and a relay or gateway would reach (6to4, Teredo)."""
    found = []
    if address.sixtofour is not None:
        found.append(address.sixtofour)
    if address.teredo is not None:
        found.extend(address.teredo)
    return found


def address_refusal(address: IPAddress) -> str | None:
    """Why calls may not go to ``address`` ("a loopback address", ...), or None for a public unicast address.

    The basis is the standard library's ``is_global`` (IANA's special-purpose registries), tightened:
    multicast, reserved and site-local ranges are refused too, IPv4-mapped addresses always (a provider
    has no reason to publish one), and 6to4 and Teredo addresses by the IPv4 address they embed.
    """
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return "an IPv4-mapped IPv6 address"
    kinds = (
        ("unspecified", address.is_unspecified),
        ("loopback", address.is_loopback),
        ("link-local", address.is_link_local),
        ("multicast", address.is_multicast),
        ("reserved", address.is_reserved),
        ("site-local", isinstance(address, ipaddress.IPv6Address) and address.is_site_local),
        ("private", address.is_private),
        ("non-public", not address.is_global),
    )
    for kind, applies in kinds:
        if applies:
            return f"a {kind} address"
    if isinstance(address, ipaddress.IPv6Address):
        for inner in _embedded_ipv4(address):
            refusal = address_refusal(inner)
            if refusal:
                return f"an IPv6 address embedding {refusal}"
    return None


def _is_special_name(host: str) -> bool:
    return host in _SPECIAL_NAMES or host.endswith(_SPECIAL_SUFFIXES)


def check_endpoint(url: str, rules: EndpointRules, resolver: HostResolver) -> CheckedEndpoint:
    """The endpoint ``url`` names, resolved and checked; raises ``EndpointRefused`` saying why not.

    ``EndpointUnresolved`` (a subclass) when the host does not resolve now: a send may retry it later.
    """
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in ("https", "http"):
        raise EndpointRefused("must use https")
    if scheme == "http" and not rules.loopback_http:
        raise EndpointRefused("must use https")
    if "@" in parts.netloc:
        raise EndpointRefused("must not carry credentials (the provider's key goes in api_key)")
    host = (parts.hostname or "").rstrip(".")
    if not host:
        raise EndpointRefused("must name a host")
    try:
        written = parts.port
    except ValueError:
        raise EndpointRefused("has an invalid port") from None
    port = written if written is not None else (443 if scheme == "https" else 80)
    if scheme == "https" and port not in rules.ports:
        allowed = ", ".join(str(p) for p in sorted(rules.ports))
        raise EndpointRefused(f"port {port} is not allowed (allowed: {allowed})")
    if scheme == "https" and _is_special_name(host):
        raise EndpointRefused(f"must be a public host ({host} is a special-use name)")
    try:
        addresses = tuple(resolver.resolve(host, port))
    except HostUnresolved:
        addresses = ()
    if not addresses:
        raise EndpointUnresolved(f"host {host} does not resolve")
    if scheme == "http":
        if not all(address.is_loopback for address in addresses):
            raise EndpointRefused("must use https")
    else:
        for address in addresses:
            refusal = address_refusal(address)
            if refusal:
                raise EndpointRefused(f"must resolve only to public addresses ({host} resolves to {refusal})")
    target = parts.path or "/"
    if parts.query:
        target = f"{target}?{parts.query}"
    return CheckedEndpoint(scheme, host, port, addresses[0], target)
