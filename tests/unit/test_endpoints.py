"""Which voice-provider endpoints may be called: public addresses only, HTTPS on allowed ports."""

from __future__ import annotations

import ipaddress
import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scheduled_comms.errors import EndpointRefused, EndpointUnresolved, HostUnresolved
from scheduled_comms.logic.endpoints import EndpointRules, address_refusal, check_endpoint

ROOT = Path(__file__).resolve().parents[2]
ipv4 = st.integers(0, 2**32 - 1).map(ipaddress.IPv4Address)
ipv6 = st.integers(0, 2**128 - 1).map(ipaddress.IPv6Address)


class Resolver:
    """Answers from a table, counting the lookups (pure logic: no DNS)."""

    def __init__(self, **answers: list[str]) -> None:
        self.answers = {name.replace("_", "."): [ipaddress.ip_address(a) for a in v] for name, v in answers.items()}
        self.lookups: list[tuple[str, int]] = []

    def resolve(self, host: str, port: int) -> list:
        self.lookups.append((host, port))
        if host in self.answers:
            return self.answers[host]
        try:
            return [ipaddress.ip_address(host)]
        except ValueError:
            raise HostUnresolved(host) from None


PUBLIC = "93.184.215.14"


# --- addresses -----------------------------------------------------------------------------------------


@settings(max_examples=2000)
@given(ipv4)
def test_an_ipv4_address_is_refused_iff_it_is_not_global_unicast(address):
    assert (address_refusal(address) is None) == (address.is_global and not address.is_multicast)


@settings(max_examples=2000)
@given(ipv6)
def test_an_ipv6_address_that_is_not_global_is_refused(address):
    if not address.is_global or address.is_multicast or address.is_site_local:
        assert address_refusal(address) is not None


@settings(max_examples=1000)
@given(ipv4, st.integers(0, 2**80 - 1))
def test_a_6to4_address_is_judged_by_the_ipv4_address_it_embeds(inner, low_bits):
    address = ipaddress.IPv6Address((0x2002 << 112) | (int(inner) << 80) | low_bits)

    assert address.sixtofour == inner
    assert (address_refusal(address) is None) == (address_refusal(inner) is None)


@settings(max_examples=500)
@given(ipv4)
def test_ipv4_mapped_nat64_and_compatible_forms_are_always_refused(inner):
    mapped = ipaddress.IPv6Address((0xFFFF << 32) | int(inner))
    nat64 = ipaddress.IPv6Address((0x64FF9B << 96) | int(inner))
    compatible = ipaddress.IPv6Address(int(inner))

    assert address_refusal(mapped) is not None
    assert address_refusal(nat64) is not None
    assert address_refusal(compatible) is not None


@settings(max_examples=500)
@given(st.integers(0, 2**96 - 1))
def test_teredo_addresses_are_refused(low_bits):
    assert address_refusal(ipaddress.IPv6Address((0x20010000 << 96) | low_bits)) is not None


# Independent of the standard library's tables: IANA's special-purpose ranges and multicast.
SPECIAL_NETWORKS = [
    "0.0.0.0/8",
    "10.0.0.0/8",
    "100.64.0.0/10",
    "127.0.0.0/8",
    "169.254.0.0/16",
    "172.16.0.0/12",
    "192.0.0.0/29",
    "192.0.2.0/24",
    "192.168.0.0/16",
    "198.18.0.0/15",
    "198.51.100.0/24",
    "203.0.113.0/24",
    "224.0.0.0/4",
    "240.0.0.0/4",
    "::/128",
    "::1/128",
    "::ffff:0:0/96",
    "64:ff9b::/96",
    "100::/64",
    "2001::/32",
    "2001:db8::/32",
    "2002:7f00::/24",
    "2002:a00::/24",
    "2002:a9fe::/32",
    "fc00::/7",
    "fe80::/10",
    "fec0::/10",
    "ff00::/8",
]


@settings(max_examples=1000)
@given(st.sampled_from(SPECIAL_NETWORKS), st.integers(0, 2**128 - 1))
def test_every_address_in_a_special_purpose_range_is_refused(network, offset):
    net = ipaddress.ip_network(network)
    address = net[offset % net.num_addresses]

    assert address_refusal(address) is not None, address


@pytest.mark.parametrize(
    ("address", "kind"),
    [
        ("127.0.0.1", "loopback"),
        ("::1", "loopback"),
        ("0.0.0.0", "unspecified"),
        ("::", "unspecified"),
        ("169.254.169.254", "link-local"),
        ("fe80::1", "link-local"),
        ("10.1.2.3", "private"),
        ("fd00::1", "private"),
        ("224.0.0.251", "multicast"),
        ("ff02::1", "multicast"),
        ("240.0.0.1", "reserved"),
        ("100.64.0.1", "non-public"),
        ("::ffff:8.8.8.8", "IPv4-mapped"),
        ("2002:7f00:1::", "embedding a loopback"),
    ],
)
def test_a_refusal_names_the_kind_of_address(address, kind):
    assert kind in (address_refusal(ipaddress.ip_address(address)) or "")


@pytest.mark.parametrize("address", ["8.8.8.8", "1.1.1.1", PUBLIC, "2606:4700:4700::1111", "2002:808:808::1"])
def test_public_unicast_addresses_are_allowed(address):
    assert address_refusal(ipaddress.ip_address(address)) is None


# --- endpoints ------------------------------------------------------------------------------------------


def test_a_public_https_endpoint_is_checked_and_connects_to_the_first_address():
    resolver = Resolver(voice_example_com=[PUBLIC, "2606:4700:4700::1111"])

    endpoint = check_endpoint("https://voice.example.com/v1/calls?region=eu", EndpointRules(), resolver)

    assert (endpoint.scheme, endpoint.host, endpoint.port) == ("https", "voice.example.com", 443)
    assert endpoint.address == ipaddress.ip_address(PUBLIC)
    assert endpoint.target == "/v1/calls?region=eu"
    assert endpoint.host_header == "voice.example.com"
    assert resolver.lookups == [("voice.example.com", 443)]


def test_one_non_public_answer_among_public_ones_refuses_the_endpoint():
    resolver = Resolver(voice_example_com=[PUBLIC, "10.0.0.7"])

    with pytest.raises(EndpointRefused, match="private") as refused:
        check_endpoint("https://voice.example.com/calls", EndpointRules(), resolver)

    assert not refused.value.retryable


def test_a_host_that_does_not_resolve_is_a_retryable_refusal():
    with pytest.raises(EndpointUnresolved, match="does not resolve") as refused:
        check_endpoint("https://gone.example.com/calls", EndpointRules(), Resolver())

    assert refused.value.retryable


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("https://voice.example.com:8443/calls", "port 8443 is not allowed"),
        ("https://voice.example.com:80/calls", "port 80 is not allowed"),
        ("https://voice.example.com:0/calls", "port 0 is not allowed"),
        ("https://voice.example.com:99999/calls", "invalid port"),
        ("http://voice.example.com/calls", "must use https"),
        ("ftp://voice.example.com/calls", "must use https"),
        ("https://user:pass@voice.example.com/calls", "credentials"),
        ("https://localhost/calls", "special-use"),
        ("https://api.localhost/calls", "special-use"),
        ("https://metadata.google.internal/calls", "special-use"),
        ("https://printer.local/calls", "special-use"),
    ],
)
def test_refused_by_the_url_alone_without_a_lookup(url, message):
    resolver = Resolver(voice_example_com=[PUBLIC])

    with pytest.raises(EndpointRefused, match=message):
        check_endpoint(url, EndpointRules(), resolver)

    assert resolver.lookups == []


def test_the_port_setting_widens_the_allowed_ports():
    rules = EndpointRules(ports=frozenset({443, 8443}))
    resolver = Resolver(voice_example_com=[PUBLIC])

    endpoint = check_endpoint("https://voice.example.com:8443/calls", rules, resolver)

    assert (endpoint.port, endpoint.host_header) == (8443, "voice.example.com:8443")
    with pytest.raises(EndpointRefused, match="port 9443"):
        check_endpoint("https://voice.example.com:9443/calls", rules, resolver)


@settings(max_examples=200)
@given(st.integers(1, 65_535), st.frozensets(st.integers(1, 65_535), min_size=1, max_size=4))
def test_an_https_port_is_allowed_iff_the_setting_lists_it(port, ports):
    resolver = Resolver(voice_example_com=[PUBLIC])
    try:
        check_endpoint(f"https://voice.example.com:{port}/calls", EndpointRules(ports=ports), resolver)
    except EndpointRefused:
        allowed = False
    else:
        allowed = True
    assert allowed == (port in ports)


def test_the_local_allowance_is_plain_http_to_loopback_only():
    local = EndpointRules(loopback_http=True)
    resolver = Resolver(localhost=["127.0.0.1", "::1"], mixed_example_com=["127.0.0.1", "10.0.0.1"])

    assert check_endpoint("http://127.0.0.1:8123/calls", local, resolver).port == 8123
    assert check_endpoint("http://localhost:8123/calls", local, resolver).host_header == "localhost:8123"
    for url in ("http://10.0.0.1/calls", "http://mixed.example.com/calls", f"http://{PUBLIC}/calls"):
        with pytest.raises(EndpointRefused, match="must use https"):
            check_endpoint(url, local, resolver)
    with pytest.raises(EndpointRefused, match="loopback"):
        check_endpoint("https://127.0.0.1/calls", local, resolver)
    with pytest.raises(EndpointRefused, match="must use https"):
        check_endpoint("http://127.0.0.1:8123/calls", EndpointRules(), resolver)


def test_an_ipv6_literal_is_bracketed_in_the_host_header():
    endpoint = check_endpoint("https://[2606:4700:4700::1111]:8443/x", EndpointRules(frozenset({8443})), Resolver())

    assert endpoint.host_header == "[2606:4700:4700::1111]:8443"


# --- production can never turn the local allowance on ---------------------------------------------------


def test_no_setting_or_deployed_code_enables_the_loopback_allowance():
    deployed = [*ROOT.joinpath("layers").rglob("*.py"), *ROOT.joinpath("functions").rglob("*.py")]
    callers = [
        path.relative_to(ROOT)
        for path in deployed
        if re.search(r"allow_loopback_http_endpoints\(\)", path.read_text())
        and path.parts[-2:] != ("composition", "voice.py")
    ]
    template = ROOT.joinpath("template.yaml").read_text()
    settings_source = ROOT.joinpath("layers/shared/scheduled_comms/settings.py").read_text()

    assert callers == []
    assert "INSECURE" not in template and "LOOPBACK" not in template
    assert "INSECURE" not in settings_source


def test_inside_lambda_the_loopback_allowance_has_no_effect(monkeypatch):
    from scheduled_comms import composition
    from scheduled_comms.composition import voice

    monkeypatch.setattr(voice, "_loopback_http_allowed", False)
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "scheduled-comms-DispatchWorkerFunction")
    monkeypatch.setenv("ALLOW_INSECURE_VOICE_ENDPOINTS", "true")
    composition.reset()
    try:
        assert composition.endpoint_rules().loopback_http is False
        composition.allow_loopback_http_endpoints()
        assert composition.endpoint_rules().loopback_http is False
    finally:
        monkeypatch.undo()
        composition.reset()


def test_registration_and_the_dispatch_workers_read_the_same_port_setting_from_the_template():
    from scheduled_comms_local.template import Stack

    stack = Stack("test")

    ports = {
        name: stack.function_environment(name).get("VOICE_ENDPOINT_PORTS")
        for name in ("RegisterVoiceAgentConfigFunction", "DispatchWorkerFunction")
    }

    assert ports == {"RegisterVoiceAgentConfigFunction": "443", "DispatchWorkerFunction": "443"}


def test_a_lookup_that_hangs_counts_as_unresolved(monkeypatch):
    import socket
    import threading

    from scheduled_comms.adapters.resolver import SystemResolver

    released = threading.Event()

    def hanging_getaddrinfo(*_args, **_kwargs):
        released.wait()
        return []

    monkeypatch.setattr(socket, "getaddrinfo", hanging_getaddrinfo)
    resolver = SystemResolver(timeout_seconds=0.05)
    try:
        with pytest.raises(HostUnresolved):
            resolver.resolve("slow.example.com", 443)
    finally:
        released.set()
