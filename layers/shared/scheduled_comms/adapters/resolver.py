"""Host names to addresses through the system resolver (``getaddrinfo``), behind the ``HostResolver`` port."""

from __future__ import annotations

import ipaddress
import socket
from concurrent.futures import ThreadPoolExecutor

from scheduled_comms.errors import HostUnresolved
from scheduled_comms.ports import IPAddress


class SystemResolver:
    """The addresses the operating system's resolver gives for a host name (or an address literal).

    ``getaddrinfo`` has no timeout of its own (a struggling DNS server can hold it for 10 s and more), so a
    lookup runs on a worker thread and counts as unresolved after ``timeout_seconds``: a send then retries
    within the tick's time reserve, and a registration answers 422 instead of running out of Lambda time.
    """

    def __init__(self, timeout_seconds: float = 3.0, workers: int = 16) -> None:
        self._timeout = timeout_seconds
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="resolver")

    def resolve(self, host: str, port: int) -> list[IPAddress]:
        lookup = self._pool.submit(socket.getaddrinfo, host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP)
        try:
            answers = lookup.result(timeout=self._timeout)
        except TimeoutError:
            lookup.cancel()
            raise HostUnresolved(host) from None
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
