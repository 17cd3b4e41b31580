"""Findings of an attack on the API: scopes that hold on edits, header-bound text, zones, clean log context."""

from __future__ import annotations

import io
import json
import logging
import uuid

import pytest
from scheduled_comms import composition
from scheduled_comms.composition import api_key_store
from scheduled_comms.logic.auth import issue_api_key
from scheduled_comms.models.domain import now_utc
from scheduled_comms.models.registry import SenderSettings
from scheduled_comms.observability import logger

from tests.conftest import Company
from tests.integration.test_create import COLLECTION, email_body, sms_body, stored_rows, voice_body


def key_for(company: Company, *scopes: str) -> Company:
    """Another key of the same company, with only ``scopes``."""
    record, key = issue_api_key(api_key_store(), company.id, scopes, now_utc())
    return Company(company.id, key, record.key_id)


CHANNELS = [
    pytest.param(
        sms_body,
        "sms:send",
        {
            "payload": {
                "phone_number_id": "6a7b8c9d-0e1f-4a2b-9c3d-4e5f6a7b8c9d",
                "to_number": "+61400000000",
                "message_body": "Pay now",
            }
        },
        id="sms",
    ),
    pytest.param(voice_body, "calls:initiate", {"timezone": "UTC"}, id="voice_call"),
    pytest.param(
        email_body,
        "email:send",
        {"payload": {"to_email": "other@example.com", "subject": "Hi", "html_body": "<p>x</p>"}},
        id="email",
    ),
]


@pytest.mark.parametrize(("body", "scope", "change"), CHANNELS)
def test_patch_and_dispatch_now_need_the_rows_channel_scope(api, make_company, body, scope, change):
    owner = make_company()
    row = api.request("POST", COLLECTION, owner, body()).json()["data"]
    others = tuple(s for s in ("email:send", "sms:send", "calls:initiate") if s != scope)
    limited = key_for(owner, "dispatcher:read", "dispatcher:write", *others)
    before = stored_rows(owner.id)

    patched = api.request("PATCH", f"{COLLECTION}/{row['id']}", limited, change)
    flushed = api.request("POST", f"{COLLECTION}/{row['id']}/dispatch-now", limited)

    for reply in (patched, flushed):
        assert reply.status == 403, reply.text
        assert reply.json()["error"]["code"] == "insufficient_scope"
        assert scope in reply.json()["error"]["message"]
    assert stored_rows(owner.id) == before
    allowed = key_for(owner, "dispatcher:write", scope)
    assert api.request("PATCH", f"{COLLECTION}/{row['id']}", allowed, change).status == 200
    assert api.request("POST", f"{COLLECTION}/{row['id']}/dispatch-now", allowed).status == 200


def test_another_companys_row_is_still_a_404_for_a_key_without_its_scope(api, make_company):
    owner, stranger = make_company(), make_company(scopes=("dispatcher:write", "email:send"))
    row = api.request("POST", COLLECTION, owner, sms_body()).json()["data"]

    reply = api.request("POST", f"{COLLECTION}/{row['id']}/dispatch-now", stranger)

    assert reply.status == 404


@pytest.mark.parametrize(
    "bad",
    ["Hello\r\nBcc: victim@example.com", "Hi\nthere", "nul\x00byte", "tab\tbed", "del\x7f", "c1\x85", "line\u2028sep"],
)
@pytest.mark.parametrize("field", ["subject", "to_name"])
def test_header_bound_email_fields_refuse_control_characters(api, make_company, field, bad):
    company = make_company()
    body = email_body()
    body["payload"][field] = bad

    reply = api.request("POST", COLLECTION, company, body)

    assert reply.status == 422, reply.text
    assert reply.json()["error"]["details"] == [
        {"field": f"payload.{field}", "message": "must not contain control characters or line breaks"}
    ]
    assert api.request("GET", COLLECTION, company).json()["data"] == []


@pytest.mark.parametrize("field", ["name", "agent_id", "api_key"])
def test_voice_config_text_sent_in_headers_refuses_line_breaks(api, make_company, field):
    company = make_company()
    body = {
        "name": "Agent",
        "endpoint_url": "https://voice.example.com/calls",
        "agent_id": "agent-7",
        "api_key": "sk-0123456789abcdef",
    }
    body[field] = body[field] + "\r\nX-Injected: 1"

    reply = api.request("POST", "/v1/voice-agent-configs", company, body)

    assert reply.status == 422, reply.text
    assert [d["field"] for d in reply.json()["error"]["details"]] == [field]


@pytest.mark.parametrize("zone", ["localtime", "Factory", "posixrules", "../../etc/passwd", "UTC "])
def test_only_real_iana_zone_names_are_accepted(api, make_company, zone):
    company = make_company()

    reply = api.request("POST", COLLECTION, company, email_body(timezone=zone))

    assert reply.status == 422, reply.text
    assert [d["field"] for d in reply.json()["error"]["details"]] == ["timezone"]


def test_each_invocation_logs_only_its_own_keys(api, make_company):
    company = make_company()
    row = api.request("POST", COLLECTION, company, email_body()).json()["data"]
    captured = io.StringIO()
    handler = logging.StreamHandler(captured)
    handler.setFormatter(logger.registered_formatter)
    logger.addHandler(handler)
    level = logger.log_level
    logger.setLevel("INFO")
    try:
        assert api.request("GET", f"{COLLECTION}/{row['id']}", company).status == 200  # adds company and row ids
        captured.truncate(0)
        refused = api.request("GET", COLLECTION, headers={"Authorization": "Bearer sck_not-a-key"})
    finally:
        logger.setLevel(level)
        logger.removeHandler(handler)

    assert refused.status == 401
    records = [json.loads(line) for line in captured.getvalue().splitlines() if line.startswith("{")]
    refusals = [r for r in records if r["message"] == "authentication refused"]
    assert refusals, records
    for record in refusals:
        assert "company_id" not in record and "communication_id" not in record, record


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (
            lambda: sms_body(payload={**sms_body()["payload"], "phone_number_id": str(uuid.uuid4())}),
            "payload.phone_number_id",
        ),
        (
            lambda: voice_body(
                payload={**voice_body()["payload"], "voice_agent_outbound_config_id": str(uuid.uuid4())}
            ),
            "payload.voice_agent_outbound_config_id",
        ),
        (
            lambda: voice_body(
                payload={
                    **voice_body()["payload"],
                    "follow_ups": {
                        **voice_body()["payload"]["follow_ups"],
                        "voice_agent_outbound_config_id": str(uuid.uuid4()),
                    },
                }
            ),
            "payload.follow_ups.voice_agent_outbound_config_id",
        ),
        (
            lambda: email_body(payload={**email_body()["payload"], "from_email": "ceo@scheduled-comms.test"}),
            "payload.from_email",
        ),
    ],
    ids=["unknown-number", "unknown-config", "unknown-follow-up-config", "no-sender-domain"],
)
def test_a_create_naming_what_the_company_has_not_registered_is_a_422_that_spends_nothing(
    api, make_company, body, field
):
    company = make_company(credits=3)

    reply = api.request("POST", COLLECTION, company, body())

    assert reply.status == 422, reply.text
    assert [d["field"] for d in reply.json()["error"]["details"]] == [field]
    assert stored_rows(company.id) == []
    assert composition.credit_ledger().balance(company.id, consistent=True) == 3


def test_another_companys_number_is_not_this_companys(api, make_company):
    owner, other = make_company(registered=False), make_company(registered=False)
    number = api.request("POST", "/v1/phone-numbers", owner, {"number": "+14155550142"}).json()["data"]["id"]

    reply = api.request(
        "POST", COLLECTION, other, sms_body(payload={**sms_body()["payload"], "phone_number_id": number})
    )
    own = api.request("POST", COLLECTION, owner, sms_body(payload={**sms_body()["payload"], "phone_number_id": number}))

    assert reply.status == 422 and reply.json()["error"]["details"][0]["field"] == "payload.phone_number_id"
    assert own.status == 201, own.text


def test_from_email_must_be_in_the_company_sender_domain_at_create_and_patch(api, make_company):
    company = make_company()
    composition.directory().put_sender_settings(
        company.id, SenderSettings(default_from_email="team@acme.example"), now_utc()
    )
    inside = email_body(payload={**email_body()["payload"], "from_email": "sales@ACME.example"})
    outside = email_body(payload={**email_body()["payload"], "from_email": "sales@example.com"})

    created = api.request("POST", COLLECTION, company, inside)
    refused = api.request("POST", COLLECTION, company, outside)
    patched = api.request(
        "PATCH", f"{COLLECTION}/{created.json()['data']['id']}", company, {"payload": outside["payload"]}
    )

    assert created.status == 201, created.text
    assert refused.status == 422 and refused.json()["error"]["details"][0]["field"] == "payload.from_email"
    assert "acme.example" in refused.json()["error"]["details"][0]["message"]
    assert patched.status == 422 and patched.json()["error"]["details"][0]["field"] == "payload.from_email"
    assert len(stored_rows(company.id)) == 1


@pytest.mark.parametrize("given", [{"related_entity_type": "deal"}, {"related_entity_id": str(uuid.uuid4())}])
def test_a_related_entity_needs_both_its_type_and_its_id(api, make_company, given):
    company = make_company()

    reply = api.request("POST", COLLECTION, company, email_body(**given))

    assert reply.status == 422, reply.text
    assert [d["field"] for d in reply.json()["error"]["details"]] == ["related_entity_id"]
    assert stored_rows(company.id) == []


def test_an_emails_payload_links_are_the_rows_when_the_row_names_none(api, make_company):
    company = make_company()
    body = email_body()
    del body["contact_id"]
    body["payload"].update(deal_id=str(uuid.uuid4()), customer_id=str(uuid.uuid4()))

    row = api.request("POST", COLLECTION, company, body).json()["data"]
    found = api.request("GET", f"{COLLECTION}?contact_id={body['payload']['contact_id']}", company).json()["data"]

    assert (row["contact_id"], row["deal_id"], row["customer_id"]) == (
        body["payload"]["contact_id"],
        body["payload"]["deal_id"],
        body["payload"]["customer_id"],
    )
    assert [r["id"] for r in found] == [row["id"]]
