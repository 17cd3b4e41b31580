"""Schedule over HTTP, run a tick with the CLI, and find what was sent in the outbox."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime

import pytest

pytestmark = pytest.mark.e2e
COLLECTION = "/v1/scheduled-communications"


def now_text() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def test_scheduled_email_and_sms_reach_the_outbox(service):
    key = service.info["api_key"]
    email_to = f"e2e-{uuid.uuid4().hex[:8]}@example.com"
    email = service.request(
        "POST",
        COLLECTION,
        key,
        json={
            "channel": "email",
            "scheduled_for": now_text(),
            "payload": {"to_email": email_to, "subject": "E2E hello", "html_body": "<p>hello</p>"},
        },
    ).json()["data"]
    sms = service.request(
        "POST",
        COLLECTION,
        key,
        json={
            "channel": "sms",
            "scheduled_for": now_text(),
            "payload": {
                "phone_number_id": service.info["phone_number_id"],
                "to_number": "+61412345678",
                "message_body": "E2E text",
            },
        },
    ).json()["data"]

    ticked = service.console_cli("tick", "--json")
    outbox = service.console_cli("outbox", "--json")

    assert ticked.returncode == 0, ticked.stderr
    assert json.loads(ticked.stdout)["dispatched"] >= 2
    sent = json.loads(outbox.stdout)
    email_row = service.request("GET", f"{COLLECTION}/{email['id']}", key).json()["data"]
    sms_row = service.request("GET", f"{COLLECTION}/{sms['id']}", key).json()["data"]
    assert email_row["status"] == sms_row["status"] == "dispatched"
    mine = {entry["external_id"]: entry for entry in sent}
    assert mine[email_row["dispatched_external_id"]]["recipient"] == email_to
    assert mine[email_row["dispatched_external_id"]]["subject"] == "E2E hello"
    assert mine[sms_row["dispatched_external_id"]]["excerpt"] == "E2E text"


def test_voice_cadence_stops_after_a_conversation(service):
    key = service.info["api_key"]
    config = service.info["voice_agent_outbound_config_id"]
    first = service.request(
        "POST",
        COLLECTION,
        key,
        json={
            "channel": "voice_call",
            "scheduled_for": now_text(),
            "payload": {
                "voice_agent_outbound_config_id": config,
                "to_number": "+61412345678",
                "follow_ups": {
                    "max_attempts": 2,
                    "follow_up_delays": [0.5],
                    "voice_agent_outbound_config_id": config,
                    "to_number": "+61412345678",
                },
            },
        },
    ).json()["data"]

    assert service.console_cli("tick", "--json").returncode == 0
    called = service.request("GET", f"{COLLECTION}/{first['id']}", key).json()["data"]
    ended = service.console_cli(
        "voice-sim", "end", called["dispatched_external_id"], "--outcome", "conversation", "--seconds", "42", "--json"
    )

    assert ended.returncode == 0, ended.stderr
    assert json.loads(ended.stdout)["webhook_status"] == 200
    rows = service.request("GET", COLLECTION, key, params={"channel": "voice_call", "limit": 100}).json()["data"]
    follow_up = next(r for r in rows if r["cadence_id"] == first["id"] and r["cadence_attempt"] == 2)
    assert follow_up["status"] == "skipped"
    assert "42s" in follow_up["skip_reason"]
    assert (
        service.request("GET", f"{COLLECTION}/{first['id']}", key).json()["data"]["call_outcome"]["talk_seconds"] == 42
    )


def test_company_default_sender_is_used(service):
    key = service.info["api_key"]
    company = service.info["company_id"]
    assert service.cli("senders", "set", "--company", company, "--from-email", "team@dev.example.com").returncode == 0
    to = f"sender-{uuid.uuid4().hex[:8]}@example.com"
    row = service.request(
        "POST",
        COLLECTION,
        key,
        json={
            "channel": "email",
            "scheduled_for": now_text(),
            "payload": {"to_email": to, "subject": "From the team", "html_body": "<p>hi</p>"},
        },
    ).json()["data"]

    assert service.console_cli("tick", "--json").returncode == 0

    sent = {e["external_id"]: e for e in json.loads(service.console_cli("outbox", "--json").stdout)}
    dispatched = service.request("GET", f"{COLLECTION}/{row['id']}", key).json()["data"]
    assert sent[dispatched["dispatched_external_id"]]["from"] == "team@dev.example.com"


def test_the_dev_company_sends_from_any_address_of_the_dev_domain_and_no_other(service):
    key = service.info["api_key"]
    body = {
        "channel": "email",
        "scheduled_for": now_text(),
        "payload": {
            "to_email": f"dev-{uuid.uuid4().hex[:8]}@example.com",
            "subject": "From sales",
            "html_body": "<p>hi</p>",
            "from_email": "sales@dev.example.com",
        },
    }
    row = service.request("POST", COLLECTION, key, json=body)
    foreign = service.request(
        "POST", COLLECTION, key, json={**body, "payload": {**body["payload"], "from_email": "sales@example.org"}}
    )

    assert row.status_code == 201, row.text
    assert foreign.status_code == 422 and foreign.json()["error"]["details"][0]["field"] == "payload.from_email"
    assert service.console_cli("tick", "--json").returncode == 0
    sent = {e["external_id"]: e for e in json.loads(service.console_cli("outbox", "--json").stdout)}
    dispatched = service.request("GET", f"{COLLECTION}/{row.json()['data']['id']}", key).json()["data"]
    assert sent[dispatched["dispatched_external_id"]]["from"] == "sales@dev.example.com"


def test_company_default_delivery_applies_to_rows_that_name_none(service):
    key = service.info["api_key"]
    company = service.info["company_id"]
    body = {
        "channel": "email",
        "scheduled_for": now_text(),
        "payload": {"to_email": "delivery@example.com", "subject": "Once", "html_body": "<p>hi</p>"},
    }
    assert service.cli("delivery", "set", "--company", company, "--mode", "exactly_once").returncode != 0
    assert service.cli("delivery", "set", "--company", company, "--mode", "at_most_once").returncode == 0
    try:
        defaulted = service.request("POST", COLLECTION, key, json=body).json()["data"]
        chosen = service.request("POST", COLLECTION, key, json={**body, "delivery": "at_least_once"}).json()["data"]
    finally:
        assert service.cli("delivery", "set", "--company", company, "--mode", "at_least_once").returncode == 0

    assert defaulted["delivery"] == "at_most_once"
    assert chosen["delivery"] == "at_least_once"
    for row in (defaulted, chosen):
        assert service.request("DELETE", f"{COLLECTION}/{row['id']}", key).status_code in (200, 204)


@pytest.mark.parametrize(
    ("endpoint", "status"),
    [
        ("{console}/calls", 201),  # the local stack's allowance: plain HTTP to its loopback simulator
        ("{console_https}/calls", 422),  # HTTPS to loopback: never, even locally
        ("https://2130706433/calls", 422),
        ("https://[::1]/calls", 422),
        ("http://10.0.0.1/calls", 422),
        ("https://localhost./calls", 422),
    ],
)
def test_the_local_stack_admits_its_simulator_and_nothing_else_inside(service, endpoint, status):
    console = service.info["console_url"]
    url = endpoint.format(console=console, console_https=console.replace("http://", "https://"))
    body = {"name": "Agent", "endpoint_url": url, "agent_id": "a-1", "api_key": "provider-key-0123456789"}

    reply = service.request("POST", "/v1/voice-agent-configs", service.info["api_key"], json=body)

    assert reply.status_code == status, reply.text
    if status == 422:
        assert [d["field"] for d in reply.json()["error"]["details"]] == ["endpoint_url"]
