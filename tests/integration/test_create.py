"""POST /v1/scheduled-communications: the spec's examples, credits, scopes and idempotency."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import boto3
import pytest
from scheduled_comms.adapters.dynamodb.items import row_partitions
from scheduled_comms.settings import get_settings

from tests.conftest import PHONE_NUMBER_ID, VOICE_CONFIG_ID

COLLECTION = "/v1/scheduled-communications"
CONTACT = "3b0c7f38-8d0b-4f0e-a7a5-2a4c2b1e9d11"
CONFIG = VOICE_CONFIG_ID
PHONE_NUMBER = PHONE_NUMBER_ID


def future(hours: float = 24) -> str:
    return (datetime.now(UTC) + timedelta(hours=hours)).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def email_body(**overrides):
    body = {
        "channel": "email",
        "scheduled_for": future(),
        "timezone": "Australia/Sydney",
        "respect_business_hours": True,
        "payload": {
            "to_email": "client@example.com",
            "subject": "Following up on your quote",
            "html_body": "<p>Hi Sarah, just checking in...</p>",
            "contact_id": CONTACT,
        },
        "contact_id": CONTACT,
    }
    body.update(overrides)
    return body


def voice_body(**overrides):
    body = {
        "channel": "voice_call",
        "scheduled_for": future(48),
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
    }
    body.update(overrides)
    return body


def sms_body(**overrides):
    body = {
        "channel": "sms",
        "scheduled_for": future(1),
        "payload": {"phone_number_id": PHONE_NUMBER, "to_number": "+14155550123", "message_body": "See you at 3pm"},
    }
    body.update(overrides)
    return body


def stored_rows(company_id: str) -> list[dict]:
    """The company's row items, from every partition its rows are spread over, oldest first."""
    client = boto3.client("dynamodb")
    items = [
        item
        for pk in row_partitions(company_id)
        for item in client.query(
            TableName=get_settings().communications_table,
            KeyConditionExpression="pk = :pk AND begins_with(sk, :sc)",
            ExpressionAttributeValues={":pk": {"S": pk}, ":sc": {"S": "SC#"}},
        )["Items"]
    ]
    return sorted(items, key=lambda item: item["sk"]["S"])


def test_email_example_is_created_pending_and_costs_one_credit(api, make_company):
    company = make_company(credits=50_000)
    body = email_body()

    reply = api.request("POST", COLLECTION, company, body)

    assert reply.status == 201, reply.text
    data, meta = reply.json()["data"], reply.json()["meta"]
    assert meta == {"credits_remaining": 49_999}
    assert uuid.UUID(data["id"])
    assert data["status"] == "pending"
    assert data["source"] == "api"
    assert data["attempt_count"] == 0
    assert data["max_attempts"] == 3
    assert data["channel"] == "email"
    assert data["timezone"] == "Australia/Sydney"
    assert data["respect_business_hours"] is True
    assert data["contact_id"] == CONTACT
    assert data["payload"]["to_email"] == "client@example.com"
    assert data["scheduled_for"] == body["scheduled_for"].replace("Z", "+00:00")
    for field in ("dispatched_at", "dispatched_external_id", "cancelled_at", "last_error"):
        assert data[field] is None
    assert datetime.fromisoformat(data["created_at"]).utcoffset() == timedelta(0)
    rows = stored_rows(company.id)
    assert [row["sk"]["S"].removeprefix("SC#") for row in rows] == [data["id"]]
    assert rows[0]["due_shard"]["S"].startswith("pending#")


def test_voice_call_with_cadence_example_is_created(api, make_company):
    company = make_company()

    reply = api.request("POST", COLLECTION, company, voice_body())

    assert reply.status == 201, reply.text
    data = reply.json()["data"]
    assert data["channel"] == "voice_call"
    assert data["max_attempts"] == 2
    assert data["payload"]["follow_ups"]["follow_up_delays"] == [2, 24]
    assert data["payload"]["dynamic_variables"] == {"contact_name": "Sarah"}


def test_voice_call_without_cadence_example_is_created(api, make_company):
    company = make_company()
    body = voice_body()
    del body["payload"]["follow_ups"]
    body["payload"]["dynamic_variables"] = {"contact_name": "Sarah", "deal_name": "Website Project"}

    reply = api.request("POST", COLLECTION, company, body)

    assert reply.status == 201, reply.text
    assert "follow_ups" not in reply.json()["data"]["payload"]


def test_sms_is_created(api, make_company):
    company = make_company()

    reply = api.request("POST", COLLECTION, company, sms_body())

    assert reply.status == 201, reply.text
    assert reply.json()["data"]["payload"]["to_number"] == "+14155550123"


def test_zero_credits_is_402_and_nothing_is_written(api, make_company):
    company = make_company(credits=1)
    assert api.request("POST", COLLECTION, company, email_body()).status == 201

    reply = api.request("POST", COLLECTION, company, email_body())

    assert reply.status == 402
    assert reply.json()["error"]["code"] == "insufficient_credits"
    assert len(stored_rows(company.id)) == 1
    listed = api.request("GET", COLLECTION, company).json()
    assert listed["meta"]["credits_remaining"] == 0


def test_company_without_any_credit_record_gets_402(api, make_company):
    company = make_company(credits=0)

    reply = api.request("POST", COLLECTION, company, sms_body())

    assert reply.status == 402
    assert stored_rows(company.id) == []


@pytest.mark.parametrize(
    ("body", "scopes", "missing"),
    [
        (email_body, ("dispatcher:write",), "email:send"),
        (sms_body, ("dispatcher:write", "email:send"), "sms:send"),
        (voice_body, ("dispatcher:write", "sms:send"), "calls:initiate"),
        (email_body, ("email:send", "dispatcher:read"), "dispatcher:write"),
    ],
)
def test_post_needs_write_and_the_channel_scope(api, make_company, body, scopes, missing):
    company = make_company(scopes=scopes)

    reply = api.request("POST", COLLECTION, company, body())

    assert reply.status == 403
    error = reply.json()["error"]
    assert error["code"] == "insufficient_scope"
    assert missing in error["message"]
    assert stored_rows(company.id) == []


def test_same_idempotency_key_and_body_returns_the_same_row_once(api, make_company):
    company = make_company(credits=10)
    body = email_body()
    key = {"Idempotency-Key": "order-42-reminder"}

    first = api.request("POST", COLLECTION, company, body, headers=key)
    second = api.request("POST", COLLECTION, company, body, headers=key)

    assert first.status == second.status == 201
    assert first.json() == second.json()
    assert len(stored_rows(company.id)) == 1
    assert api.request("GET", COLLECTION, company).json()["meta"]["credits_remaining"] == 9


def test_same_idempotency_key_with_another_body_is_422(api, make_company):
    company = make_company()
    key = {"Idempotency-Key": "k-1"}
    assert api.request("POST", COLLECTION, company, email_body(), headers=key).status == 201

    reply = api.request("POST", COLLECTION, company, sms_body(), headers=key)

    assert reply.status == 422
    assert reply.json()["error"]["code"] == "idempotency_key_reused"
    assert len(stored_rows(company.id)) == 1


def test_idempotency_keys_are_per_company(api, make_company):
    first, second = make_company(), make_company()
    key = {"Idempotency-Key": "shared"}
    body = email_body()

    a = api.request("POST", COLLECTION, first, body, headers=key)
    b = api.request("POST", COLLECTION, second, body, headers=key)

    assert a.status == b.status == 201
    assert a.json()["data"]["id"] != b.json()["data"]["id"]


def test_failed_request_does_not_burn_the_idempotency_key(api, make_company):
    company = make_company(credits=0)
    key = {"Idempotency-Key": "retry-me"}
    assert api.request("POST", COLLECTION, company, email_body(), headers=key).status == 402
    from scheduled_comms.composition import credit_ledger
    from scheduled_comms.models.domain import now_utc

    credit_ledger().grant(company.id, 5, now_utc())

    reply = api.request("POST", COLLECTION, company, email_body(), headers=key)

    assert reply.status == 201


def test_a_replay_does_not_bypass_scopes(api, make_company):
    writer = make_company()
    body = email_body()
    key = {"Idempotency-Key": "shared-key"}
    assert api.request("POST", COLLECTION, writer, body, headers=key).status == 201
    from scheduled_comms.composition import api_key_store
    from scheduled_comms.logic.auth import issue_api_key
    from scheduled_comms.models.domain import now_utc

    from tests.conftest import Company

    record, reader_key = issue_api_key(api_key_store(), writer.id, ("dispatcher:read",), now_utc())
    reader = Company(writer.id, reader_key, record.key_id)

    reply = api.request("POST", COLLECTION, reader, body, headers=key)

    assert reply.status == 403
    assert reply.json()["error"]["code"] == "insufficient_scope"


def test_a_replay_answers_the_row_even_when_the_credits_have_run_out(api, make_company):
    company = make_company(credits=1)
    key = {"Idempotency-Key": "the-last-credit"}
    body = email_body()
    first = api.request("POST", COLLECTION, company, body, headers=key)

    again = api.request("POST", COLLECTION, company, body, headers=key)

    assert first.status == again.status == 201
    assert again.json()["data"]["id"] == first.json()["data"]["id"]
    assert again.json()["meta"]["credits_remaining"] == 0
    assert api.request("POST", COLLECTION, company, email_body()).status == 402


def test_a_replay_shows_the_row_as_it_is_now(api, make_company):
    company = make_company()
    key = {"Idempotency-Key": "then-cancelled"}
    body = email_body()
    first = api.request("POST", COLLECTION, company, body, headers=key).json()["data"]
    assert api.request("DELETE", f"{COLLECTION}/{first['id']}", company).status == 204

    again = api.request("POST", COLLECTION, company, body, headers=key)

    assert again.status == 201
    assert again.json()["data"]["id"] == first["id"]
    assert again.json()["data"]["status"] == "cancelled"


def test_the_key_is_held_in_the_create_s_own_write_and_a_create_is_one_round_trip(api, make_company):
    """Creating with a key: one transaction (credit, row, key) and a balance read beside it, nothing else."""
    from scheduled_comms.adapters.aws import client

    company = make_company(credits=10)
    calls: list[tuple[str, dict]] = []

    def record(params: dict, model: object, **_: object) -> None:
        calls.append((getattr(model, "name", ""), params))

    events = client("dynamodb").meta.events
    events.register("provide-client-params.dynamodb.*", record)
    try:
        reply = api.request("POST", COLLECTION, company, email_body(), headers={"Idempotency-Key": "one-trip"})
    finally:
        events.unregister("provide-client-params.dynamodb.*", record)

    assert reply.status == 201
    assert reply.json()["meta"]["credits_remaining"] == 9
    writes = [params for name, params in calls if name == "TransactWriteItems"]
    assert len(writes) == 1
    held = [
        item["Put"]["Item"] for item in writes[0]["TransactItems"] if "Put" in item and "row_id" in item["Put"]["Item"]
    ]
    assert [item["row_id"]["S"] for item in held] == [reply.json()["data"]["id"]]
    balance_reads = [p for name, p in calls if name == "GetItem" and p["Key"]["sk"]["S"] == "#COMPANY"]
    assert len(balance_reads) == 1 and not balance_reads[0].get("ConsistentRead")


def test_an_expired_key_can_be_used_again(make_company):
    """The key's hold ends at its expiry, even before DynamoDB's TTL has removed the item."""
    from scheduled_comms.composition import communication_store
    from scheduled_comms.models.domain import Channel, Communication, Created, IdempotencyClaim, Status, now_utc
    from scheduled_comms.models.values import new_id

    company = make_company()
    store = communication_store()
    now = now_utc()

    def row() -> Communication:
        return Communication(
            id=new_id(now),
            company_id=company.id,
            channel=Channel.EMAIL,
            status=Status.PENDING,
            scheduled_for=now + timedelta(hours=1),
            payload={"to_email": "a@example.com", "subject": "s", "html_body": "b"},
            max_attempts=3,
            created_at=now,
            updated_at=now,
        )

    first = store.create(row(), IdempotencyClaim("k", "request-1", now - timedelta(seconds=1)))
    second = store.create(row(), IdempotencyClaim("k", "request-2", now + timedelta(hours=1)))

    assert isinstance(first, Created) and isinstance(second, Created)
    assert len(stored_rows(company.id)) == 2
