"""Over HTTP against `scheduled-comms dev`: the spec's examples, the lifecycle, errors and the admin CLI."""

from __future__ import annotations

import json
import os
import subprocess
import time
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from tests.e2e.conftest import BIN

pytestmark = pytest.mark.e2e

COLLECTION = "/v1/scheduled-communications"
CONTACT = str(uuid.uuid4())
CONFIG = str(uuid.uuid4())
ROW_FIELDS = {
    "id",
    "channel",
    "status",
    "scheduled_for",
    "original_scheduled_for",
    "timezone",
    "timezone_source",
    "respect_business_hours",
    "delivery",
    "payload",
    "contact_id",
    "customer_id",
    "cancellation_key",
    "transactional",
    "deal_id",
    "related_entity_type",
    "related_entity_id",
    "cancel_policy",
    "attempt_count",
    "max_attempts",
    "last_error",
    "dispatched_external_id",
    "dispatched_at",
    "cancelled_at",
    "source",
    "created_at",
    "updated_at",
    "skip_reason",
    "cadence_id",
    "cadence_attempt",
    "call_outcome",
}


def when(days: int) -> str:
    return (datetime.now(UTC) + timedelta(days=days)).strftime("%Y-%m-%dT10:00:00Z")


SPEC_EXAMPLES = {
    "email": {
        "channel": "email",
        "scheduled_for": when(1),
        "timezone": "Australia/Sydney",
        "respect_business_hours": True,
        "payload": {
            "to_email": "client@example.com",
            "subject": "Following up on your quote",
            "html_body": "<p>Hi Sarah, just checking in...</p>",
            "contact_id": CONTACT,
        },
        "contact_id": CONTACT,
    },
    "voice": {
        "channel": "voice_call",
        "scheduled_for": when(7),
        "timezone": "Australia/Brisbane",
        "respect_business_hours": True,
        "payload": {
            "voice_agent_outbound_config_id": CONFIG,
            "to_number": "+61412345678",
            "dynamic_variables": {"contact_name": "Sarah", "deal_name": "Website Project"},
        },
    },
    "voice_cadence": {
        "channel": "voice_call",
        "scheduled_for": when(7),
        "timezone": "Australia/Brisbane",
        "respect_business_hours": True,
        "contact_id": CONTACT,
        "payload": {
            "voice_agent_outbound_config_id": CONFIG,
            "to_number": "+61412345678",
            "dynamic_variables": {"contact_name": "Sarah"},
            "follow_ups": {
                "max_attempts": 3,
                "follow_up_delays": [2, 24],
                "voice_agent_outbound_config_id": CONFIG,
                "to_number": "+61412345678",
                "respect_business_hours": True,
                "contact_id": CONTACT,
            },
        },
    },
}


def test_health_answers_without_a_key(service):
    reply = service.request("GET", "/v1/health")

    assert reply.status_code == 200
    assert reply.json()["status"] == "ok"


@pytest.mark.parametrize("name", sorted(SPEC_EXAMPLES))
def test_spec_request_examples_succeed_with_the_documented_shape(service, name):
    # The examples' voice config is the dev company's: a row names only what its company registered.
    text = json.dumps(SPEC_EXAMPLES[name]).replace(CONFIG, service.info["voice_agent_outbound_config_id"])
    body = json.loads(text)

    reply = service.request("POST", COLLECTION, service.info["api_key"], json=body)

    assert reply.status_code == 201, reply.text
    document = reply.json()
    assert set(document) == {"data", "meta"}
    assert set(document["data"]) == ROW_FIELDS
    assert isinstance(document["meta"]["credits_remaining"], int)
    data = document["data"]
    assert data["status"] == "pending"
    assert data["source"] == "api"
    assert data["attempt_count"] == 0
    assert data["channel"] == body["channel"]
    assert data["scheduled_for"] == body["scheduled_for"].replace("Z", "+00:00")
    fetched = service.request("GET", f"{COLLECTION}/{data['id']}", service.info["api_key"])
    assert fetched.json()["data"] == data


def test_lifecycle_over_http(service):
    key = service.info["api_key"]
    created = service.request("POST", COLLECTION, key, json=SPEC_EXAMPLES["email"]).json()["data"]
    path = f"{COLLECTION}/{created['id']}"

    patched = service.request("PATCH", path, key, json={"respect_business_hours": False})
    flushed = service.request("POST", f"{path}/dispatch-now", key)
    deleted = service.request("DELETE", path, key)
    again = service.request("DELETE", path, key)
    final = service.request("GET", path, key).json()["data"]

    assert patched.status_code == 200 and patched.json()["data"]["respect_business_hours"] is False
    assert flushed.status_code == 200
    assert deleted.status_code == 204 and deleted.content == b""
    assert again.status_code == 422 and again.json()["error"]["code"] == "not_pending"
    assert final["status"] == "cancelled" and final["cancelled_at"]


def test_pagination_over_http(service):
    key = service.info["api_key"]
    deal = str(uuid.uuid4())
    made = [
        service.request("POST", COLLECTION, key, json={**SPEC_EXAMPLES["email"], "deal_id": deal}).json()["data"]["id"]
        for _ in range(12)
    ]
    seen, cursor = [], None
    while True:
        params = {"deal_id": deal, "limit": 5, **({"cursor": cursor} if cursor else {})}
        page = service.request("GET", COLLECTION, key, params=params).json()
        seen.extend(row["id"] for row in page["data"])
        cursor = page["meta"]["next_cursor"]
        if cursor is None:
            break

    assert seen == list(reversed(made))
    tampered = service.request("GET", COLLECTION, key, params={"deal_id": deal, "cursor": "x" + made[0]})
    assert tampered.status_code == 400


@pytest.mark.parametrize(
    ("method", "path", "kwargs", "status", "code"),
    [
        ("GET", COLLECTION, {"headers": {"Authorization": "Bearer nope"}}, 401, "unauthorized"),
        ("GET", "/v1/elsewhere", {}, 404, "not_found"),
        ("PUT", COLLECTION, {}, 405, "method_not_allowed"),
        (
            "POST",
            COLLECTION,
            {"data": "channel=email", "headers": {"Content-Type": "text/plain"}},
            415,
            "unsupported_media_type",
        ),
        (
            "POST",
            COLLECTION,
            {"data": "{not json", "headers": {"Content-Type": "application/json"}},
            422,
            "validation_error",
        ),
        ("POST", COLLECTION, {"json": {"channel": "email"}}, 422, "validation_error"),
    ],
)
def test_errors_share_one_shape_over_http(service, method, path, kwargs, status, code):
    headers = kwargs.pop("headers", {})
    headers.setdefault("Authorization", f"Bearer {service.info['api_key']}")

    reply = service.request(method, path, headers=headers, **kwargs)

    assert reply.status_code == status, reply.text
    assert reply.json()["error"]["code"] == code
    assert set(reply.json()["error"]) == {"code", "message", "details"}


def test_admin_cli_issues_keys_grants_credits_and_revokes(service):
    company = str(uuid.uuid4())

    created = service.cli(
        "api-keys", "create", "--company", company, "--scopes", "dispatcher:read,dispatcher:write,sms:send"
    )
    assert created.returncode == 0, created.stderr
    key = created.stdout.strip().splitlines()[-1]
    number = service.request("POST", "/v1/phone-numbers", key, json={"number": "+14155550177"})
    assert number.status_code == 201, number.text
    sms = {
        "channel": "sms",
        "scheduled_for": when(1),
        "payload": {"phone_number_id": number.json()["data"]["id"], "to_number": "+14155550123", "message_body": "Hi"},
    }
    assert service.request("POST", COLLECTION, key, json=sms).status_code == 402
    assert service.request("POST", COLLECTION, key, json=SPEC_EXAMPLES["email"]).status_code == 403

    granted = service.cli("credits", "grant", "--company", company, "--amount", "2", "--json")
    assert granted.returncode == 0, granted.stderr
    assert '"credits": 2' in granted.stdout
    reply = service.request("POST", COLLECTION, key, json=sms)
    assert reply.status_code == 201
    assert reply.json()["meta"]["credits_remaining"] == 1
    listed = service.request("GET", COLLECTION, key).json()
    assert [row["id"] for row in listed["data"]] == [reply.json()["data"]["id"]]

    spare = service.cli("api-keys", "create", "--company", company, "--scopes", "dispatcher:read")
    spare_key = spare.stdout.strip().splitlines()[-1]
    revoked = service.cli("api-keys", "revoke", spare_key)
    assert revoked.returncode == 0, revoked.stderr
    assert service.request("GET", COLLECTION, spare_key).status_code == 401


def test_admin_cli_rejects_bad_input(service):
    bad_scope = service.cli("api-keys", "create", "--company", str(uuid.uuid4()), "--scopes", "root")
    bad_company = service.cli("credits", "grant", "--company", "acme", "--amount", "5")
    unknown_key = service.cli("api-keys", "revoke", "0" * 32)

    assert bad_scope.returncode != 0 and "Scopes" in bad_scope.stderr
    assert bad_company.returncode != 0
    assert unknown_key.returncode == 1


def test_the_local_stack_publishes_transitions_from_the_tables_stream(service):
    import boto3

    aws = {
        "endpoint_url": service.info["aws_endpoint_url"],
        "region_name": "us-east-1",
        "aws_access_key_id": "testing",
        "aws_secret_access_key": "testing",
    }
    sqs, events = boto3.client("sqs", **aws), boto3.client("events", **aws)
    bus = next(b["Name"] for b in events.list_event_buses()["EventBuses"] if b["Name"].endswith("-events"))
    queue_url = sqs.create_queue(QueueName="e2e-transitions")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events.put_rule(Name="e2e-transitions", EventBusName=bus, EventPattern=json.dumps({"source": ["scheduled-comms"]}))
    events.put_targets(Rule="e2e-transitions", EventBusName=bus, Targets=[{"Id": "queue", "Arn": arn}])
    key = service.info["api_key"]
    created = service.request("POST", COLLECTION, key, json=SPEC_EXAMPLES["email"]).json()["data"]

    assert service.request("DELETE", f"{COLLECTION}/{created['id']}", key).status_code == 204

    found: list[dict] = []
    deadline = time.monotonic() + 30  # a safety net: the stack polls its stream every second
    while not found and time.monotonic() < deadline:
        messages = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=1)
        bodies = [json.loads(m["Body"]) for m in messages.get("Messages", [])]
        found += [b for b in bodies if b["detail"]["id"] == created["id"]]
    assert [event["detail-type"] for event in found] == ["ScheduledCommunication.Cancelled"]
    assert found[0]["detail"]["company_id"] == service.info["company_id"]


def test_admin_cli_needs_only_the_endpoint_against_the_local_stack(service, tmp_path):
    # Given: nothing but the endpoint, as the README writes the command (no region, no credentials)
    env = {"PATH": os.environ["PATH"], "HOME": str(tmp_path), "AWS_ENDPOINT_URL": service.info["aws_endpoint_url"]}
    company = str(uuid.uuid4())

    # When
    created = subprocess.run(
        [str(BIN / "scheduled-comms"), "api-keys", "create", "--company", company, "--scopes", "dispatcher:read"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    granted = subprocess.run(
        [str(BIN / "scheduled-comms"), "credits", "grant", "--company", company, "--amount", "3", "--json"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )

    # Then
    assert created.returncode == 0, created.stderr
    key = created.stdout.strip().splitlines()[-1]
    listed = service.request("GET", COLLECTION, key)
    assert listed.status_code == 200
    assert listed.json()["meta"]["credits_remaining"] == 3
    assert granted.returncode == 0, granted.stderr
