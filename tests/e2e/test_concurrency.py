"""`scheduled-comms dev` serves clients concurrently: bursts of connections and overlapping requests."""

from __future__ import annotations

import socket
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import requests

pytestmark = pytest.mark.e2e

COLLECTION = "/v1/scheduled-communications"


def listen_overflows() -> int:
    """The kernel's count of connections dropped because a listening socket's queue was full."""
    lines = Path("/proc/net/netstat").read_text().splitlines()
    for names, values in zip(lines[::2], lines[1::2], strict=True):
        if names.startswith("TcpExt:"):
            return int(dict(zip(names.split(), values.split(), strict=True))["ListenOverflows"])
    raise AssertionError("no TcpExt counters")


def test_forty_simultaneous_connections_are_all_answered(service):
    # Given: 40 clients that connect at the same moment, each on its own connection
    address = urlsplit(service.url)
    overflows_before = listen_overflows()
    start = threading.Barrier(40)

    def health_over_a_fresh_connection() -> bytes:
        start.wait()
        with socket.create_connection((address.hostname, address.port), timeout=60) as connection:
            connection.sendall(
                f"GET /v1/health HTTP/1.1\r\nHost: {address.netloc}\r\nConnection: close\r\n\r\n".encode()
            )
            answer = b""
            while chunk := connection.recv(65536):
                answer += chunk
            return answer

    # When
    with ThreadPoolExecutor(40) as pool:
        answers = list(pool.map(lambda _: health_over_a_fresh_connection(), range(40)))

    # Then: every one was answered (a reset would have raised), and answered 200, none of them dropped by
    # a full listen queue and left to the client's retransmission (Linux drops where others reset)
    assert [answer.split(b"\r\n", 1)[0] for answer in answers] == [b"HTTP/1.1 200 OK"] * 40
    assert listen_overflows() == overflows_before


def test_concurrent_clients_each_see_their_own_rows(service):
    # Given: 8 clients, each scheduling rows for a contact of its own, all at once
    key = service.info["api_key"]
    when = (datetime.now(UTC) + timedelta(days=3)).strftime("%Y-%m-%dT10:00:00Z")

    def client(_: int) -> tuple[set[str], set[str], set[str]]:
        contact = str(uuid.uuid4())
        body = {
            "channel": "email",
            "scheduled_for": when,
            "contact_id": contact,
            "payload": {"to_email": "client@example.com", "subject": contact, "html_body": "<p>Hi</p>"},
        }
        created: set[str] = set()
        listed: set[str] = set()
        subjects: set[str] = set()
        with requests.Session() as session:
            headers = {"Authorization": f"Bearer {key}"}
            for _ in range(4):
                reply = session.post(service.url + COLLECTION, json=body, headers=headers, timeout=60)
                assert reply.status_code == 201, reply.text
                assert reply.json()["data"]["contact_id"] == contact
                created.add(reply.json()["data"]["id"])
                page = session.get(
                    service.url + COLLECTION, params={"contact_id": contact}, headers=headers, timeout=60
                )
                assert page.status_code == 200, page.text
                listed = {row["id"] for row in page.json()["data"]}
                subjects |= {row["payload"]["subject"] for row in page.json()["data"]}
        return created, listed, subjects | {contact}

    # When
    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(client, range(8)))

    # Then: each client's last list is exactly its own rows, all of them
    for created, listed, subjects in results:
        assert listed == created
        assert len(subjects) == 1
    assert len(set().union(*(created for created, _, _ in results))) == 32
