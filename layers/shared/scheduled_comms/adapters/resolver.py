"""Host names to addresses through the system resolver (``getaddrinfo``), behind the ``HostResolver`` port."""

from __future__ import annotations

import ipaddress
import socket

from scheduled_comms.errors import HostUnresolved
from scheduled_comms.ports import IPAddress


class SystemResolver:
    """The addresses the operating system's resolver gives for a host name (or an address literal)."""

    def resolve(self, host: str, port: int) -> list[IPAddress]:
        try:
            answers = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP)
        except (OSError, UnicodeError, ValueError) as exc:
            raise HostUnresolved(host) from exc
        addresses: list[IPAddress] = []
        for family, _, _, _, sockaddr in answers:
            if family not in (socket.AF_INET, socket.AF_INET6):
                continue
            # An IPv6 answer may carry a zone ("fe80::1%eth0"); the address alone is what is checked.
            address = ipaddress.ip_address(str(sockaddr[0]).partition("%")[0])
            if address not in addresses:
                addresses.append(address)
        if not addresses:
            raise HostUnresolved(host)
        return addresses
