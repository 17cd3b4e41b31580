"""The tests' DNS: chosen names answer chosen addresses, so no test depends on the internet.

``FakeDns`` stands in for ``socket.getaddrinfo``, the function the service's ``SystemResolver`` (and
urllib3) call. A name it knows gets its answers, in turn (the last one repeats), and every call is
counted; every other name and every address literal goes to the real ``getaddrinfo``.
"""

from __future__ import annotations

import socket
import threading
from collections import Counter
from typing import Any

REAL_GETADDRINFO = socket.getaddrinfo
# A public-looking answer for the names tests register (a global address no test connects to).
PUBLIC_ADDRESS = "93.184.215.14"


class FakeDns:
    def __init__(self) -> None:
        self._answers: dict[str, list[list[str]]] = {}
        self.lookups: Counter[str] = Counter()
        self._lock = threading.Lock()

    def answer(self, name: str, *answers: list[str]) -> None:
        """``name`` resolves to each answer in turn (an empty answer: the name does not resolve)."""
        with self._lock:
            self._answers[name.lower()] = [list(a) for a in answers]
            self.lookups[name.lower()] = 0

    def forget(self, name: str) -> None:
        with self._lock:
            self._answers.pop(name.lower(), None)

    def getaddrinfo(self, host: Any, port: Any, family: int = 0, type: int = 0, proto: int = 0, flags: int = 0) -> Any:
        name = host.decode() if isinstance(host, bytes) else str(host)
        with self._lock:
            answers = self._answers.get(name.lower().rstrip("."))
            if answers is None:
                return REAL_GETADDRINFO(host, port, family, type, proto, flags)
            turn = self.lookups[name.lower().rstrip(".")]
            self.lookups[name.lower().rstrip(".")] += 1
            addresses = answers[min(turn, len(answers) - 1)]
        if not addresses:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        results = []
        for address in addresses:
            af = socket.AF_INET6 if ":" in address else socket.AF_INET
            sockaddr: tuple[Any, ...] = (address, int(port), 0, 0) if af == socket.AF_INET6 else (address, int(port))
            results.append((af, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", sockaddr))
        return results
