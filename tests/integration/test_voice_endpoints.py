"""SSRF through voice-agent endpoints: refused at registration, checked again at every send, and the call
goes to the address that was checked (DNS rebinding), with TLS and the Host header naming the host.

Names resolve through the tests' DNS (``tests/fake_dns.py``); every connection is real, to sockets on
127.0.0.1: a "trap" listener stands where a forbidden answer leads and must never see a connection.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import socket
import ssl
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import boto3
import pytest
import urllib3
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from scheduled_comms import composition
from scheduled_comms.adapters.resolver import SystemResolver
from scheduled_comms.adapters.senders import HttpVoiceSender
from scheduled_comms.composition import voice

from tests.fake_dns import PUBLIC_ADDRESS, FakeDns
from tests.integration.conftest import soon
from tests.integration.test_create import voice_body
from tests.integration.test_dispatch import fetch, schedule

CONFIGS = "/v1/voice-agent-configs"


def config_body(endpoint_url: str) -> dict[str, str]:
    return {"name": "Agent", "endpoint_url": endpoint_url, "agent_id": "a-1", "api_key": "provider-key-0123456789"}


class Trap:
    """A listening socket where a forbidden answer leads: it must never be connected to."""

    def __init__(self) -> None:
        self._socket = socket.create_server(("127.0.0.1", 0))
        self._socket.setblocking(False)
        self.port = self._socket.getsockname()[1]

    def connections(self) -> int:
        count = 0
        while True:
            try:
                connection, _ = self._socket.accept()
            except BlockingIOError:
                return count
            connection.close()
            count += 1

    def close(self) -> None:
        self._socket.close()


@pytest.fixture
def trap() -> Iterator[Trap]:
    listener = Trap()
    yield listener
    listener.close()


@pytest.fixture
def dns(fake_dns: FakeDns) -> Iterator[FakeDns]:
    names = ["127.0.0.1.nip.io", "10.0.0.5.nip.io", "voice.corp.example", "rebind.example.net"]
    names += ["voice.trap.test", "voice.rebind.test", "voice.gone.test"]
    fake_dns.answer("127.0.0.1.nip.io", ["127.0.0.1"])
    fake_dns.answer("10.0.0.5.nip.io", ["10.0.0.5"])
    fake_dns.answer("voice.corp.example", ["169.254.169.254"])
    fake_dns.answer("rebind.example.net", [PUBLIC_ADDRESS, "10.0.0.1"])
    yield fake_dns
    for name in names:
        fake_dns.forget(name)


@pytest.fixture
def allowed_ports(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """Widen VOICE_ENDPOINT_PORTS for one test (the trap and the TLS provider listen on free ports)."""

    def allow(*ports: int) -> None:
        monkeypatch.setenv("VOICE_ENDPOINT_PORTS", ",".join(str(p) for p in (443, *ports)))
        composition.reset()

    yield allow
    monkeypatch.delenv("VOICE_ENDPOINT_PORTS", raising=False)
    composition.reset()


def assert_nothing_registered(api, company) -> None:
    assert api.request("GET", CONFIGS, company).json()["data"] == []
    prefix = f"{os.environ['SECRET_NAME_PREFIX']}/{company.id}/"
    secrets = boto3.client("secretsmanager").list_secrets(Filters=[{"Key": "name", "Values": [prefix]}])
    assert secrets["SecretList"] == []


# --- registration -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("endpoint_url", "message"),
    [
        ("https://127.1/calls", "loopback"),
        ("https://2130706433/calls", "loopback"),
        ("https://0x7f.0.0.1/calls", "loopback"),
        ("https://0177.0.0.1/calls", "loopback"),
        ("https://localhost/calls", "special-use"),
        ("https://localhost./calls", "special-use"),
        ("https://[::1]/calls", "loopback"),
        ("https://[::ffff:127.0.0.1]/calls", "IPv4-mapped"),
        ("https://[::ffff:7f00:1]/calls", "IPv4-mapped"),
        ("https://[2002:7f00:1::]/calls", "embedding a loopback"),
        ("https://[64:ff9b::a9fe:a9fe]/calls", "reserved"),
        ("https://[2001:0:4136:e378:8000:63bf:3fff:fdd2]/calls", "private"),
        ("https://[fe80::1]/calls", "link-local"),
        ("https://[fd12:3456::1]/calls", "private"),
        ("https://[ff02::1]/calls", "multicast"),
        ("https://[::]/calls", "unspecified"),
        ("https://0.0.0.0/calls", "unspecified"),
        ("https://0/calls", "unspecified"),
        ("https://169.254.169.254/latest/meta-data", "link-local"),
        ("https://10.0.0.8/calls", "private"),
        ("https://172.16.5.4/calls", "private"),
        ("https://192.168.1.1/calls", "private"),
        ("https://100.64.0.1/calls", "non-public"),
        ("https://224.0.0.1/calls", "multicast"),
        ("https://240.0.0.1/calls", "reserved"),
        ("https://127.0.0.1.nip.io/calls", "loopback"),
        ("https://10.0.0.5.nip.io/calls", "private"),
        ("https://voice.corp.example/calls", "link-local"),
        ("https://rebind.example.net/calls", "private"),
        ("https://metadata.google.internal/computeMetadata/v1", "special-use"),
        ("https://voice.corp.internal/calls", "special-use"),
        ("https://voice.example.com:8443/calls", "port 8443 is not allowed"),
        ("https://voice.example.com:22/calls", "port 22 is not allowed"),
        ("http://voice.example.com/calls", "must use https"),
        ("https://user:secret@voice.example.com/calls", "credentials"),
        ("https://nowhere.invalid/calls", "does not resolve"),
    ],
)
def test_registration_refuses_endpoints_that_do_not_lead_to_a_public_https_host(
    api, make_company, dns, endpoint_url, message
):
    company = make_company(registered=False)

    reply = api.request("POST", CONFIGS, company, config_body(endpoint_url))

    assert reply.status == 422, reply.text
    details = reply.json()["error"]["details"]
    assert [d["field"] for d in details] == ["endpoint_url"]
    assert message in details[0]["message"]
    assert_nothing_registered(api, company)


def test_registration_accepts_a_public_https_host(api, make_company):
    company = make_company(registered=False)

    reply = api.request("POST", CONFIGS, company, config_body("https://voice.example.com/calls"))

    assert reply.status == 201, reply.text
    assert reply.json()["data"]["endpoint_url"] == "https://voice.example.com/calls"


def test_plain_http_to_loopback_needs_the_local_stacks_allowance_not_a_variable(
    api, make_company, simulator, monkeypatch
):
    company = make_company(registered=False)
    monkeypatch.setenv("ALLOW_INSECURE_VOICE_ENDPOINTS", "true")
    monkeypatch.setattr(voice, "_loopback_http_allowed", False)
    composition.reset()

    refused = api.request("POST", CONFIGS, company, config_body(f"{simulator.url}/calls"))

    monkeypatch.undo()
    composition.reset()
    assert refused.status == 422
    assert refused.json()["error"]["details"][0] == {"field": "endpoint_url", "message": "must use https"}
    assert_nothing_registered(api, company)
    allowed = api.request("POST", CONFIGS, company, config_body(f"{simulator.url}/calls"))
    assert allowed.status == 201, "the local stack's allowance (on in the tests) admits the simulator"


def test_the_port_setting_widens_the_ports_registration_accepts(api, make_company, allowed_ports):
    company = make_company(registered=False)
    allowed_ports(8443)

    widened = api.request("POST", CONFIGS, company, config_body("https://voice.example.com:8443/calls"))
    other = api.request("POST", CONFIGS, company, config_body("https://voice.example.com:9443/calls"))

    assert widened.status == 201, widened.text
    assert other.status == 422
    assert other.json()["error"]["details"][0]["message"] == "port 9443 is not allowed (allowed: 443, 8443)"


# --- sends ------------------------------------------------------------------------------------------------


def register(api, company, endpoint_url: str) -> str:
    reply = api.request("POST", CONFIGS, company, config_body(endpoint_url))
    assert reply.status == 201, reply.text
    return reply.json()["data"]["id"]


def schedule_call(api, company, config_id: str) -> dict[str, Any]:
    body = voice_body(scheduled_for=soon(1).isoformat(), respect_business_hours=False)
    body["payload"]["voice_agent_outbound_config_id"] = config_id
    del body["payload"]["follow_ups"]
    return schedule(api, company, body)


def test_a_send_to_a_host_that_now_resolves_to_loopback_fails_without_connecting(
    api, make_company, ticker, dns, trap, allowed_ports
):
    allowed_ports(trap.port)
    company = make_company(registered=False)
    dns.answer("voice.trap.test", [PUBLIC_ADDRESS])
    config_id = register(api, company, f"https://voice.trap.test:{trap.port}/calls")
    row = schedule_call(api, company, config_id)
    dns.answer("voice.trap.test", ["127.0.0.1"])

    ticker.at(soon(5))

    data = fetch(api, company, row["id"])
    assert data["status"] == "failed"
    assert data["last_error"] == (
        "endpoint_url refused: must resolve only to public addresses (voice.trap.test resolves to a loopback address)"
    )
    assert data["dispatched_external_id"] is None
    assert trap.connections() == 0


def test_a_send_to_a_host_that_stopped_resolving_is_retried(api, make_company, ticker, dns):
    company = make_company(registered=False)
    dns.answer("voice.gone.test", [PUBLIC_ADDRESS])
    config_id = register(api, company, "https://voice.gone.test/calls")
    row = schedule_call(api, company, config_id)
    dns.answer("voice.gone.test", [])

    ticker.at(soon(5))

    data = fetch(api, company, row["id"])
    assert data["status"] == "pending"
    assert data["attempt_count"] == 1
    assert data["last_error"] == "endpoint_url refused: host voice.gone.test does not resolve; will retry"


# --- the connection goes to the checked address ------------------------------------------------------------


@dataclass
class Provider:
    """An HTTPS voice provider on 127.0.0.1 whose certificate names one host; records what it saw."""

    port: int
    ca_file: str
    server_names: list[str | None] = field(default_factory=list)
    requests: list[dict[str, Any]] = field(default_factory=list)


def certificate_authority(tmp_path: Path, host: str) -> tuple[str, str, str]:
    """A CA and a certificate for ``host`` it signed: (CA file, certificate file, key file)."""
    now = dt.datetime.now(dt.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Test provider CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(hours=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    leaf = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, host)]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(hours=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(host)]), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    files = tmp_path / "ca.pem", tmp_path / "cert.pem", tmp_path / "key.pem"
    files[0].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    files[1].write_bytes(leaf.public_bytes(serialization.Encoding.PEM))
    files[2].write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return str(files[0]), str(files[1]), str(files[2])


def start_provider(tmp_path: Path, certificate_host: str) -> tuple[Provider, ThreadingHTTPServer]:
    ca_file, cert_file, key_file = certificate_authority(tmp_path, certificate_host)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_file, key_file)
    provider = Provider(port=0, ca_file=ca_file)
    context.sni_callback = lambda _socket, name, _context: provider.server_names.append(name)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            provider.requests.append({"path": self.path, "headers": dict(self.headers), "body": body})
            answer = json.dumps({"call_id": "call-at-the-checked-address"}).encode()
            self.send_response(201)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, *_: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    provider.port = server.server_address[1]
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return provider, server


class RoutedPoolManager(urllib3.PoolManager):
    """The network between the sender and a public address: connections to ``routes``' keys reach the
    local listener each names (no internet here). TLS names and certificate checks are left as asked."""

    def __init__(self, routes: dict[tuple[str, int], tuple[str, int]], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.routes = routes
        self.connected_to: list[tuple[str, int]] = []

    def connection_from_host(self, host, port=None, scheme="http", pool_kwargs=None):  # type: ignore[override]
        self.connected_to.append((str(host), int(port or 0)))
        host, port = self.routes.get((str(host), int(port or 0)), (host, port))
        return super().connection_from_host(host, port, scheme, pool_kwargs)


@pytest.fixture
def rebinding(api, make_company, dns, trap, allowed_ports, tmp_path):
    """A config at https://voice.rebind.test:<trap port>/calls and a due call row, the name resolving to a
    public address at registration."""
    allowed_ports(trap.port)
    company = make_company(registered=False)
    dns.answer("voice.rebind.test", [PUBLIC_ADDRESS])
    config_id = register(api, company, f"https://voice.rebind.test:{trap.port}/calls")
    row = schedule_call(api, company, config_id)
    stored = composition.dispatch_store().get(company.id, row["id"])
    assert stored is not None
    return stored


def voice_sender(http: urllib3.PoolManager) -> HttpVoiceSender:
    return HttpVoiceSender(
        composition.dispatch_directory(),
        composition.vault(),
        "https://api.example.com/v1/webhooks/voice",
        5.0,
        composition.endpoint_rules(),
        SystemResolver(),
        http=http,
    )


def test_a_rebinding_name_cannot_move_the_call_to_the_address_it_answers_next(rebinding, dns, trap, tmp_path):
    provider, server = start_provider(tmp_path, "voice.rebind.test")
    # The first answer is public (checked); any later answer leads to the trap on 127.0.0.1.
    dns.answer("voice.rebind.test", [PUBLIC_ADDRESS], ["127.0.0.1"])
    network = RoutedPoolManager({(PUBLIC_ADDRESS, trap.port): ("127.0.0.1", provider.port)}, ca_certs=provider.ca_file)

    try:
        result = voice_sender(network).send(rebinding)
    finally:
        server.shutdown()

    assert (result.outcome, result.external_id) == ("sent", "call-at-the-checked-address")
    assert network.connected_to == [(PUBLIC_ADDRESS, trap.port)]
    assert dns.lookups["voice.rebind.test"] == 1, "the name was resolved once, for the check"
    assert trap.connections() == 0
    assert provider.server_names == ["voice.rebind.test"], "TLS SNI names the host, not the address"
    [request] = provider.requests
    assert request["path"] == "/calls"
    assert request["headers"]["Host"] == f"voice.rebind.test:{trap.port}"
    assert request["headers"]["Authorization"] == "Bearer provider-key-0123456789"
    assert request["body"]["metadata"]["communication_id"] == rebinding.id


def test_the_certificate_must_name_the_host_even_though_the_call_goes_to_an_address(rebinding, dns, trap, tmp_path):
    provider, server = start_provider(tmp_path, "someone-else.example")
    dns.answer("voice.rebind.test", [PUBLIC_ADDRESS])
    network = RoutedPoolManager({(PUBLIC_ADDRESS, trap.port): ("127.0.0.1", provider.port)}, ca_certs=provider.ca_file)

    try:
        result = voice_sender(network).send(rebinding)
    finally:
        server.shutdown()

    assert result.outcome == "retry"
    assert "SSLError" in (result.error or "")
    assert provider.requests == []
    assert trap.connections() == 0
