"""GET/PATCH/DELETE one row and dispatch-now: pending-only rules, tenant isolation, stored effects."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import boto3
import pytest
from scheduled_comms.adapters.dynamodb.items import row_key
from scheduled_comms.settings import get_settings

from tests.integration.test_create import COLLECTION, email_body, future, sms_body, voice_body


def create(api, company, body=None) -> dict:
    reply = api.request("POST", COLLECTION, company, body or email_body())
    assert reply.status == 201, reply.text
    return reply.json()["data"]


def raw_item(company_id: str, row_id: str) -> dict:
    return boto3.client("dynamodb").get_item(
        TableName=get_settings().communications_table,
        Key=row_key(company_id, row_id),
    )["Item"]


def test_get_returns_the_row_and_credits(api, make_company):
    company = make_company(credits=10)
    row = create(api, company)

    reply = api.request("GET", f"{COLLECTION}/{row['id']}", company)

    assert reply.status == 200
    assert reply.json() == {"data": row, "meta": {"credits_remaining": 9}}


def test_unknown_and_malformed_ids(api, make_company):
    company = make_company()

    unknown = api.request("GET", f"{COLLECTION}/01a209ba-22c7-7214-ac0f-bf949cf72d96", company)
    malformed = api.request("GET", f"{COLLECTION}/not-a-uuid", company)

    assert unknown.status == 404
    assert unknown.json()["error"]["code"] == "not_found"
    assert malformed.status == 422
    assert malformed.json()["error"]["details"][0]["field"] == "id"


@pytest.mark.parametrize(
    ("method", "suffix", "body"),
    [
        ("GET", "", None),
        ("PATCH", "", {"respect_business_hours": False}),
        ("DELETE", "", None),
        ("POST", "/dispatch-now", None),
    ],
)
def test_another_companys_row_is_404_and_untouched(api, make_company, method, suffix, body):
    owner, stranger = make_company(), make_company()
    row = create(api, owner)

    reply = api.request(method, f"{COLLECTION}/{row['id']}{suffix}", stranger, body)

    assert reply.status == 404
    assert reply.json()["error"]["code"] == "not_found"
    assert api.request("GET", f"{COLLECTION}/{row['id']}", owner).json()["data"] == row


def test_patch_changes_the_editable_fields(api, make_company):
    company = make_company()
    row = create(api, company)
    new_time = future(72)

    reply = api.request(
        "PATCH",
        f"{COLLECTION}/{row['id']}",
        company,
        {
            "scheduled_for": new_time,
            "timezone": "America/Los_Angeles",
            "respect_business_hours": False,
            "cancel_policy": {"expire_after_minutes": 90},
            "payload": {"to_email": "other@example.com", "subject": "New", "html_body": "<p>new</p>"},
        },
    )

    assert reply.status == 200, reply.text
    data = reply.json()["data"]
    assert data["scheduled_for"] == new_time.replace("Z", "+00:00")
    assert data["timezone"] == "America/Los_Angeles"
    assert data["respect_business_hours"] is False
    assert data["cancel_policy"] == {"expire_after_minutes": 90}
    assert data["payload"] == {"to_email": "other@example.com", "subject": "New", "html_body": "<p>new</p>"}
    assert data["updated_at"] > row["updated_at"]
    assert raw_item(company.id, row["id"])["scheduled_for"]["S"] == data["scheduled_for"]
    assert api.request("GET", f"{COLLECTION}/{row['id']}", company).json()["data"] == data


def test_patch_null_timezone_and_cancel_policy_clears_them(api, make_company):
    company = make_company()
    row = create(api, company, email_body(cancel_policy={"expire_after_minutes": 5}))

    reply = api.request("PATCH", f"{COLLECTION}/{row['id']}", company, {"timezone": None, "cancel_policy": None})

    assert reply.status == 200
    assert (reply.json()["data"]["timezone"], reply.json()["data"]["timezone_source"]) == ("UTC", "company_default")
    assert reply.json()["data"]["cancel_policy"] is None
    item = raw_item(company.id, row["id"])
    assert "timezone" not in item
    assert "cancel_policy" not in item


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"status": "dispatched"}, "status"),
        ({"channel": "sms"}, "channel"),
        ({"contact_id": "3b0c7f38-8d0b-4f0e-a7a5-2a4c2b1e9d11"}, "contact_id"),
        ({"attempt_count": 5}, "attempt_count"),
        ({"scheduled_for": None}, "scheduled_for"),
        ({"respect_business_hours": None}, "respect_business_hours"),
        ({"payload": None}, "payload"),
        ({"scheduled_for": "2020-01-01T00:00:00Z"}, "scheduled_for"),
        ({"scheduled_for": "2030-01-01T00:00:00"}, "scheduled_for"),
        ({"timezone": "Nowhere/Land"}, "timezone"),
        ({"payload": {"to_email": "x@example.com"}}, "payload.subject"),
        (
            {
                "payload": {
                    "phone_number_id": "6a7b8c9d-0e1f-4a2b-9c3d-4e5f6a7b8c9d",
                    "to_number": "+14155550123",
                    "message_body": "hi",
                }
            },
            "payload.to_email",
        ),
        ({}, "body"),
    ],
)
def test_patch_rejects_what_is_not_editable_or_valid(api, make_company, body, field):
    company = make_company()
    row = create(api, company)

    reply = api.request("PATCH", f"{COLLECTION}/{row['id']}", company, body)

    assert reply.status == 422, reply.text
    assert field in [d["field"] for d in reply.json()["error"]["details"]]
    assert api.request("GET", f"{COLLECTION}/{row['id']}", company).json()["data"] == row


def test_patch_validates_payload_against_the_rows_channel(api, make_company):
    company = make_company()
    row = create(api, company, sms_body())

    ok = api.request(
        "PATCH",
        f"{COLLECTION}/{row['id']}",
        company,
        {"payload": {**row["payload"], "message_body": "Changed"}},
    )
    bad = api.request("PATCH", f"{COLLECTION}/{row['id']}", company, {"payload": {**row["payload"], "to_number": "1"}})

    assert ok.status == 200
    assert ok.json()["data"]["payload"]["message_body"] == "Changed"
    assert bad.status == 422
    assert bad.json()["error"]["details"][0]["field"] == "payload.to_number"


def test_delete_soft_cancels_and_keeps_the_row(api, make_company):
    company = make_company()
    row = create(api, company)

    reply = api.request("DELETE", f"{COLLECTION}/{row['id']}", company)

    assert reply.status == 204
    assert reply.text == ""
    data = api.request("GET", f"{COLLECTION}/{row['id']}", company).json()["data"]
    assert data["status"] == "cancelled"
    assert data["cancelled_at"] is not None
    item = raw_item(company.id, row["id"])
    assert "due_shard" not in item, "a cancelled row must leave the due index"
    assert item["status"]["S"] == "cancelled"


@pytest.mark.parametrize(
    ("method", "suffix", "body"),
    [
        ("PATCH", "", {"respect_business_hours": False}),
        ("DELETE", "", None),
        ("POST", "/dispatch-now", None),
    ],
)
def test_non_pending_rows_are_422_not_pending(api, make_company, method, suffix, body):
    company = make_company()
    row = create(api, company)
    assert api.request("DELETE", f"{COLLECTION}/{row['id']}", company).status == 204

    reply = api.request(method, f"{COLLECTION}/{row['id']}{suffix}", company, body)

    assert reply.status == 422
    assert reply.json()["error"]["code"] == "not_pending"


def test_dispatch_now_makes_the_row_due_and_ignores_business_hours(api, make_company):
    company = make_company()
    row = create(api, company, voice_body())
    before = datetime.now(UTC)

    reply = api.request("POST", f"{COLLECTION}/{row['id']}/dispatch-now", company)

    assert reply.status == 200, reply.text
    data = reply.json()["data"]
    scheduled = datetime.fromisoformat(data["scheduled_for"])
    assert before - timedelta(seconds=1) <= scheduled <= datetime.now(UTC)
    assert data["respect_business_hours"] is False
    assert data["original_scheduled_for"] == row["scheduled_for"]
    assert data["status"] == "pending"
    assert reply.json()["meta"]["credits_remaining"] == 99
    assert raw_item(company.id, row["id"])["scheduled_for"]["S"] == data["scheduled_for"]


@pytest.mark.parametrize(
    ("method", "suffix", "body", "scopes"),
    [
        ("GET", "", None, ("dispatcher:write",)),
        ("PATCH", "", {"respect_business_hours": False}, ("dispatcher:read",)),
        ("DELETE", "", None, ("dispatcher:read",)),
        ("POST", "/dispatch-now", None, ("dispatcher:read", "email:send")),
    ],
)
def test_each_route_enforces_its_scope(api, make_company, method, suffix, body, scopes):
    owner = make_company()
    row = create(api, owner)
    from scheduled_comms.composition import api_key_store
    from scheduled_comms.logic.auth import issue_api_key
    from scheduled_comms.models.domain import now_utc

    from tests.conftest import Company

    record, key = issue_api_key(api_key_store(), owner.id, scopes, now_utc())
    limited = Company(owner.id, key, record.key_id)

    reply = api.request(method, f"{COLLECTION}/{row['id']}{suffix}", limited, body)

    assert reply.status == 403
    assert reply.json()["error"]["code"] == "insufficient_scope"
    assert api.request("GET", f"{COLLECTION}/{row['id']}", owner).json()["data"] == row
