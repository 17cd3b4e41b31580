"""Every validation rule of POST and PATCH: a 422 naming the field, and nothing written."""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta

import pytest

from tests.integration.test_create import COLLECTION, email_body, sms_body, stored_rows, voice_body


def _set(body: dict, path: str, value) -> dict:
    body = copy.deepcopy(body)
    target = body
    parts = path.split(".")
    for part in parts[:-1]:
        target = target[part]
    if value is _DELETE:
        del target[parts[-1]]
    else:
        target[parts[-1]] = value
    return body


_DELETE = object()
PAST = (datetime.now(UTC) - timedelta(minutes=5)).isoformat()
FAR = (datetime.now(UTC) + timedelta(days=400)).isoformat()

CASES = [
    # (builder, path, value, field named in the error)
    (email_body, "channel", "fax", "channel"),
    (email_body, "channel", _DELETE, "channel"),
    (email_body, "scheduled_for", _DELETE, "scheduled_for"),
    (email_body, "scheduled_for", "2026-05-01T09:00:00", "scheduled_for"),
    (email_body, "scheduled_for", "tomorrow", "scheduled_for"),
    (email_body, "scheduled_for", 1767225600, "scheduled_for"),
    (email_body, "scheduled_for", PAST, "scheduled_for"),
    (email_body, "scheduled_for", FAR, "scheduled_for"),
    (email_body, "timezone", "Mars/Olympus", "timezone"),
    (email_body, "timezone", "../../etc/passwd", "timezone"),
    (email_body, "respect_business_hours", "yes", "respect_business_hours"),
    (email_body, "contact_id", "abc123...", "contact_id"),
    (email_body, "customer_id", 42, "customer_id"),
    (email_body, "deal_id", "not-a-uuid", "deal_id"),
    (email_body, "related_entity_id", "x", "related_entity_id"),
    (email_body, "related_entity_type", "a b", "related_entity_type"),
    (email_body, "scheduled_for", "0001-01-01T00:00:00+05:00", "scheduled_for"),
    (email_body, "scheduled_for", "9999-12-31T23:59:59-05:00", "scheduled_for"),
    (voice_body, "payload.dynamic_variables", {"tiny": 1e-200}, "payload.dynamic_variables.tiny"),
    (voice_body, "payload.dynamic_variables", {"huge": 1e300}, "payload.dynamic_variables.huge"),
    (voice_body, "payload.metadata", {"long": 10**40}, "payload.metadata.long"),
    (voice_body, "payload.follow_ups.follow_up_delays", [1e-300, 1], "payload.follow_ups.follow_up_delays[0]"),
    (email_body, "cancel_policy", {"expire_after_minutes": 0}, "cancel_policy.expire_after_minutes"),
    (email_body, "cancel_policy", {"unknown": 1}, "cancel_policy.unknown"),
    (email_body, "surprise", 1, "surprise"),
    (email_body, "payload", _DELETE, "payload"),
    (email_body, "payload", "text", "payload"),
    (email_body, "payload.to_email", "not-an-email", "payload.to_email"),
    (email_body, "payload.to_email", _DELETE, "payload.to_email"),
    (email_body, "payload.subject", _DELETE, "payload.subject"),
    (email_body, "payload.subject", "", "payload.subject"),
    (email_body, "payload.html_body", _DELETE, "payload.html_body"),
    (email_body, "payload.html_body", "x" * 100_001, "payload.html_body"),
    (email_body, "payload.from_email", "nobody", "payload.from_email"),
    (email_body, "payload.cc", ["a@example.com", "bad"], "payload.cc[1]"),
    (email_body, "payload.sender_user_id", "me", "payload.sender_user_id"),
    (email_body, "payload.mode", "loud", "payload.mode"),
    (email_body, "payload.contact_id", "abc123...", "payload.contact_id"),
    (email_body, "payload.extra", True, "payload.extra"),
    (sms_body, "payload.phone_number_id", "main-line", "payload.phone_number_id"),
    (sms_body, "payload.to_number", "0412345678", "payload.to_number"),
    (sms_body, "payload.to_number", "+61 412 345 678", "payload.to_number"),
    (sms_body, "payload.to_number", "+999123", "payload.to_number"),
    (sms_body, "payload.message_body", "", "payload.message_body"),
    (sms_body, "payload.message_body", "x" * 1601, "payload.message_body"),
    (sms_body, "payload.to_email", "a@example.com", "payload.to_email"),
    (voice_body, "payload.voice_agent_outbound_config_id", "config-uuid...", "payload.voice_agent_outbound_config_id"),
    (voice_body, "payload.to_number", "+6141234", "payload.to_number"),
    (voice_body, "payload.dynamic_variables", {"k": {"nested": 1}}, "payload.dynamic_variables.k"),
    (voice_body, "payload.dynamic_variables", {f"k{i}": i for i in range(51)}, "payload.dynamic_variables"),
    (voice_body, "payload.metadata", ["a"], "payload.metadata"),
    (voice_body, "payload.follow_ups.max_attempts", 0, "payload.follow_ups.max_attempts"),
    (voice_body, "payload.follow_ups.max_attempts", 2.5, "payload.follow_ups.max_attempts"),
    (voice_body, "payload.follow_ups.follow_up_delays", [2], "payload.follow_ups"),
    (voice_body, "payload.follow_ups.follow_up_delays", [2, 0], "payload.follow_ups.follow_up_delays[1]"),
    (voice_body, "payload.follow_ups.follow_up_delays", [2, -1], "payload.follow_ups.follow_up_delays[1]"),
    (voice_body, "payload.follow_ups.follow_up_delays", [2, 1000], "payload.follow_ups.follow_up_delays[1]"),
    (
        voice_body,
        "payload.follow_ups.voice_agent_outbound_config_id",
        _DELETE,
        "payload.follow_ups.voice_agent_outbound_config_id",
    ),
    (voice_body, "payload.follow_ups.to_number", "+1", "payload.follow_ups.to_number"),
    (voice_body, "payload.follow_ups.respect_business_hours", "true", "payload.follow_ups.respect_business_hours"),
    (voice_body, "payload.follow_ups.deal_id", "d", "payload.follow_ups.deal_id"),
    (voice_body, "payload.follow_ups.unknown", 1, "payload.follow_ups.unknown"),
]


@pytest.mark.parametrize(
    ("builder", "path", "value", "field"), CASES, ids=[f"{c[0].__name__}:{c[1]}:{i}" for i, c in enumerate(CASES)]
)
def test_invalid_create_is_422_naming_the_field(api, make_company, builder, path, value, field):
    company = make_company(credits=5)

    reply = api.request("POST", COLLECTION, company, _set(builder(), path, value))

    assert reply.status == 422, reply.text
    error = reply.json()["error"]
    assert error["code"] == "validation_error"
    assert field in [detail["field"] for detail in error["details"]], error
    assert stored_rows(company.id) == []


def test_half_hour_follow_up_delays_are_accepted(api, make_company):
    company = make_company()
    body = _set(voice_body(), "payload.follow_ups.follow_up_delays", [0.5, 24])

    assert api.request("POST", COLLECTION, company, body).status == 201


def test_single_attempt_cadence_needs_no_delays(api, make_company):
    company = make_company()
    body = _set(voice_body(), "payload.follow_ups.max_attempts", 1)
    body = _set(body, "payload.follow_ups.follow_up_delays", [])

    assert api.request("POST", COLLECTION, company, body).status == 201


def test_a_time_just_under_a_minute_ago_is_accepted(api, make_company):
    company = make_company()
    recent = (datetime.now(UTC) - timedelta(seconds=30)).isoformat()

    assert api.request("POST", COLLECTION, company, email_body(scheduled_for=recent)).status == 201


def test_offsets_are_normalised_to_utc(api, make_company):
    company = make_company()
    local = (datetime.now(UTC) + timedelta(days=1)).replace(microsecond=0)
    text = local.astimezone(datetime.now().astimezone().tzinfo).isoformat()
    sydney = local.isoformat().replace("+00:00", "+10:00")

    reply = api.request("POST", COLLECTION, company, email_body(scheduled_for=sydney))

    assert reply.status == 201, reply.text
    assert reply.json()["data"]["scheduled_for"] == (local - timedelta(hours=10)).isoformat()
    assert text  # the local rendering parses too


@pytest.mark.parametrize(
    "raw",
    ["{", "[]", '"text"', "null", "1", '{"channel": "email", "payload": {"to_email": "\\ud800"}}'],
)
def test_body_that_is_not_a_json_object_is_422(api, make_company, raw):
    company = make_company()

    reply = api.request("POST", COLLECTION, company, body=raw, headers={"Content-Type": "application/json"})

    assert reply.status == 422, reply.text
    assert reply.json()["error"]["code"] == "validation_error"
    assert stored_rows(company.id) == []


def test_non_json_content_type_is_415(api, make_company):
    company = make_company()

    reply = api.request(
        "POST", COLLECTION, company, body="channel=email", headers={"Content-Type": "application/x-www-form-urlencoded"}
    )

    assert reply.status == 415
    assert reply.json()["error"]["code"] == "unsupported_media_type"


def test_body_over_the_limit_is_413(api, make_company):
    company = make_company()
    body = email_body()
    body["payload"]["html_body"] = "x" * 140_000

    reply = api.request("POST", COLLECTION, company, body)

    assert reply.status == 413
    assert reply.json()["error"]["code"] == "payload_too_large"


def test_invalid_idempotency_key_is_422(api, make_company):
    company = make_company()

    reply = api.request("POST", COLLECTION, company, email_body(), headers={"Idempotency-Key": "x" * 300})

    assert reply.status == 422
    assert reply.json()["error"]["details"][0]["field"] == "Idempotency-Key"


@pytest.mark.parametrize(
    "raw",
    [
        "[" * 50_000 + "]" * 50_000,
        '{"channel": "email", "payload": ' + '{"a": ' * 12_000 + "1" + "}" * 12_001,
        '{"channel": "email", "scheduled_for": "2030-01-01T00:00:00Z", "payload": {"to_email": "a@example.com", "subject": "\\ud800", "html_body": "x"}}',
        '{"channel": "\\u0000email"}',
    ],
    ids=["deep-array", "deep-object", "lone-surrogate", "nul"],
)
def test_hostile_json_is_a_clean_422(api, make_company, raw):
    company = make_company()

    reply = api.request("POST", COLLECTION, company, body=raw, headers={"Content-Type": "application/json"})

    assert reply.status == 422, reply.text
    assert reply.json()["error"]["code"] == "validation_error"
    assert stored_rows(company.id) == []
