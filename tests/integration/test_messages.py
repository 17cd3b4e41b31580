"""Templated messages (spec 002): the spec's request and answer, its error shape, templates and brands,
rendering at send time, dedup keys under concurrency, cancelling, listing, and tenant isolation."""

from __future__ import annotations

import base64
import io
import json
import logging
import threading
import time
import uuid
import zlib
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import boto3
import jsonschema
import pytest
from moto.ses.models import ses_backends
from moto.sns.models import sns_backends
from scheduled_comms import composition
from scheduled_comms.errors import SealBroken
from scheduled_comms.models.domain import now_utc
from scheduled_comms.models.registry import SenderSettings
from scheduled_comms.observability import logger
from scheduled_comms.settings import get_settings

from tests.integration.conftest import published, soon, unique_email

# The spec's contract (spec 002, as published), kept in the repository so the test runs on any clone.
SPEC = Path(__file__).resolve().parents[1] / "contract" / "002_71b8d7cab8f46108.txt"
DOMAIN = "example.com"
TEMPLATE = {
    "parts": {
        "email": {
            "subject": "Your appointment at {{ brand.name }}",
            "html": "<p>Hi {{ first_name }}, see you at {{ time }}.</p>",
            "text": "Hi {{ first_name }}, see you at {{ time }}.",
        },
        "sms": {"body": "{{ brand.name }}: see you at {{ time }}. Call {{ brand.variables.phone }}"},
    },
    "variables_schema": {"type": "object", "required": ["time"], "properties": {"time": {"type": "string"}}},
}


def spec_schemas() -> dict[str, Any]:
    """The JSON blocks of the spec file, by the heading before each: request body, 201 answer, 422 answer."""
    text = SPEC.read_text()
    decoder = json.JSONDecoder()
    found: dict[str, Any] = {}
    for heading in ("Request body", "201 Message scheduled", "422 Validation error"):
        start = text.index("{", text.index(heading))
        found[heading], _ = decoder.raw_decode(text, start)
    return found


def spec_example_body(**overrides: Any) -> dict[str, Any]:
    """A body with every property the spec's request lists, required or not."""
    body = {
        "channel": "email",
        "template_key": "appointment_reminder",
        "recipient": unique_email(),
        "brand_id": "acme-dental",
        "person_id": f"person-{uuid.uuid4().hex[:8]}",
        "variables": {"first_name": "Ana", "time": "9:00"},
        "dedup_key": f"appt-{uuid.uuid4().hex[:8]}-24h",
        "hipaa": False,
        "scheduled_at": soon(1).isoformat(),
    }
    return {**body, **overrides}


@pytest.fixture
def company(api, make_company):
    """A company with a sender domain, a brand (email and SMS) and the reminder template."""
    company = make_company()
    composition.directory().put_sender_settings(
        company.id, SenderSettings(default_from_email=f"team@{DOMAIN}"), now_utc()
    )
    number = api.request("POST", "/v1/phone-numbers", company, {"number": "+14155550111"}).json()["data"]["id"]
    brand = {
        "name": "Acme Dental",
        "from_email": f"care@{DOMAIN}",
        "reply_to": f"desk@{DOMAIN}",
        "phone_number_id": number,
        "variables": {"phone": "+1 415 555 0100"},
    }
    assert api.request("PUT", "/v1/brands/acme-dental", company, brand).status == 200
    assert api.request("PUT", "/v1/templates/appointment_reminder", company, TEMPLATE).status == 200
    return company


def schedule(api, company, body: dict[str, Any], status: int = 201):
    reply = api.request("POST", "/v1/messages/schedule", company, body)
    assert reply.status == status, reply.text
    return reply


def ses_message_to(address: str):
    found = [m for m in ses_backends["123456789012"]["us-east-1"].sent_messages if address in str(m.destinations)]
    assert len(found) == 1, found
    return found[0]


def test_the_specs_body_gives_a_201_that_validates_against_the_specs_answer(api, company):
    schemas = spec_schemas()
    body = spec_example_body()
    jsonschema.validate(body, schemas["Request body"])

    reply = schedule(api, company, body)

    jsonschema.validate(reply.json(), schemas["201 Message scheduled"])
    message = reply.json()
    assert message["status"] == "scheduled"
    assert (message["sent_at"], message["cancelled_at"], message["failure_reason"]) == (None, None, None)
    assert {k: message[k] for k in ("channel", "template_key", "recipient", "brand_id", "person_id", "dedup_key")} == {
        k: body[k] for k in ("channel", "template_key", "recipient", "brand_id", "person_id", "dedup_key")
    }
    assert reply.headers["X-Deduplicated"] == "false"
    assert api.request("GET", f"/v1/messages/{message['id']}", company).json() == message


@pytest.mark.parametrize(
    "missing", ["channel", "template_key", "recipient", "brand_id", "person_id", "dedup_key", "scheduled_at"]
)
def test_each_required_field_missing_is_the_specs_422_naming_it(api, company, missing):
    body = spec_example_body()
    del body[missing]

    reply = schedule(api, company, body, status=422)

    jsonschema.validate(reply.json(), spec_schemas()["422 Validation error"])
    assert reply.json()["error"] == "validation_error"
    assert missing in reply.json()["message"]
    assert [detail["field"] for detail in reply.json()["details"]] == [missing]


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"channel": "push"}, "recipient"),
        ({"channel": "in_app"}, "recipient"),
        ({"recipient": "not-an-address"}, "recipient"),
        ({"channel": "sms", "recipient": "patient@example.com"}, "recipient"),
        ({"brand_id": "unknown-brand"}, "brand_id"),
        ({"template_key": "unknown_template"}, "template_key"),
        ({"variables": {"first_name": "Ana"}}, "variables.time"),
        ({"variables": {"time": 9, "first_name": "Ana"}}, "variables.time"),
        ({"variables": {"time": "9:00"}}, "variables.first_name"),
        ({"channel": "sms", "recipient": "+14155550123", "hipaa": True}, "template_key"),
        ({"scheduled_at": "2020-01-01T00:00:00Z"}, "scheduled_at"),
    ],
    ids=[
        "push-to-an-address",
        "in-app-to-an-address",
        "bad-email",
        "email-for-sms",
        "unknown-brand",
        "unknown-template",
        "schema-required",
        "schema-type",
        "template-variable",
        "hipaa-sms-needs-phi-safe",
        "past",
    ],
)
def test_a_message_that_cannot_be_sent_is_a_422_naming_the_field_and_nothing_is_spent(api, company, overrides, field):
    before = composition.credit_ledger().balance(company.id)

    reply = schedule(api, company, spec_example_body(**overrides), status=422)

    assert reply.json()["error"] == "validation_error"
    assert field in [detail["field"] for detail in reply.json()["details"]], reply.text
    assert reply.json()["message"].startswith(reply.json()["details"][0]["field"])
    assert composition.credit_ledger().balance(company.id) == before
    assert api.request("GET", "/v1/messages", company).json()["data"] == []


def test_a_due_email_is_rendered_with_its_variables_and_brand_and_sent(api, company, ticker):
    body = spec_example_body(variables={"first_name": "<Ana & Bo>", "time": "9:00"})
    message = schedule(api, company, body).json()

    ticker.at(soon(5))

    sent = api.request("GET", f"/v1/messages/{message['id']}", company).json()
    assert sent["status"] == "sent" and sent["sent_at"] is not None
    email = ses_message_to(body["recipient"])
    assert email.subject == "Your appointment at Acme Dental"
    assert "<p>Hi &lt;Ana &amp; Bo&gt;, see you at 9:00.</p>" in email.body
    assert email.source == f"Acme Dental <care@{DOMAIN}>"


def test_a_due_sms_goes_from_the_brands_number_with_the_brands_variables(api, company, ticker):
    body = spec_example_body(channel="sms", recipient="+14155550123")
    message = schedule(api, company, body).json()

    ticker.at(soon(5))

    assert api.request("GET", f"/v1/messages/{message['id']}", company).json()["status"] == "sent"
    texts = [sms for sms in sns_backends["123456789012"]["us-east-1"].sms_messages.values() if sms[0] == "+14155550123"]
    assert [text for _, text, *_ in texts][-1] == "Acme Dental: see you at 9:00. Call +1 415 555 0100"


def test_a_message_renders_the_template_version_it_was_scheduled_with(api, company, ticker):
    body = spec_example_body()
    message = schedule(api, company, body).json()
    newer = {**TEMPLATE, "parts": {"email": {**TEMPLATE["parts"]["email"], "subject": "Changed"}}}
    assert api.request("PUT", "/v1/templates/appointment_reminder", company, newer).json()["version"] == 2

    ticker.at(soon(5))

    assert message["template_version"] == 1
    assert ses_message_to(body["recipient"]).subject == "Your appointment at Acme Dental"


def test_a_render_that_fails_at_send_fails_the_message_with_a_reason_and_sends_nothing(api, company, ticker):
    template = {"parts": {"email": {"subject": "Hi", "html": "Call {{ brand.variables.phone }}"}}}
    assert api.request("PUT", "/v1/templates/calls", company, template).status == 200
    body = spec_example_body(template_key="calls")
    message = schedule(api, company, body).json()
    brand = api.request("GET", "/v1/brands/acme-dental", company).json()
    changed = {k: v for k, v in brand.items() if k not in ("id", "updated_at")} | {"variables": {}}
    assert api.request("PUT", "/v1/brands/acme-dental", company, changed).status == 200

    ticker.at(soon(5))

    failed = api.request("GET", f"/v1/messages/{message['id']}", company).json()
    assert failed["status"] == "failed"
    assert failed["failure_reason"].startswith("template_render_failed: email.html reads a variable that is missing")
    assert not [
        m for m in ses_backends["123456789012"]["us-east-1"].sent_messages if body["recipient"] in str(m.destinations)
    ]


def test_a_template_that_does_not_compile_is_refused_at_put(api, company):
    broken = {"parts": {"email": {"subject": "{{ unclosed", "html": "ok"}, "sms": {"body": "{% if %}"}}}

    reply = api.request("PUT", "/v1/templates/broken", company, broken)

    assert reply.status == 422
    assert [d["field"] for d in reply.json()["details"]] == ["parts.email.subject", "parts.sms.body"]
    assert api.request("GET", "/v1/templates/broken", company).status == 404


def test_templates_are_versioned_listed_and_deleted(api, company):
    first = api.request("GET", "/v1/templates/appointment_reminder", company).json()
    second = api.request("PUT", "/v1/templates/appointment_reminder", company, TEMPLATE).json()
    listed = api.request("GET", "/v1/templates", company).json()["data"]
    deleted = api.request("DELETE", "/v1/templates/appointment_reminder", company)
    gone = api.request("GET", "/v1/templates/appointment_reminder", company)
    refused = schedule(api, company, spec_example_body(), status=422)
    again = api.request("PUT", "/v1/templates/appointment_reminder", company, TEMPLATE).json()

    assert (first["version"], second["version"], again["version"]) == (1, 2, 3)
    assert [(t["key"], t["version"]) for t in listed] == [("appointment_reminder", 2)]
    assert deleted.status == 204 and gone.status == 404
    assert gone.json() == {"error": "not_found", "message": "No template with this key", "details": []}
    assert [d["field"] for d in refused.json()["details"]] == ["template_key"]


def test_a_repeat_answers_the_first_message_and_another_body_is_a_dedup_conflict(api, company):
    body = spec_example_body()
    first = schedule(api, company, body)
    balance = composition.credit_ledger().balance(company.id)

    repeat = schedule(api, company, body)
    conflict = schedule(api, company, {**body, "variables": {"first_name": "Bo", "time": "9:00"}}, status=409)
    other_person = schedule(api, company, {**body, "person_id": "someone-else"})

    assert repeat.json()["id"] == first.json()["id"] and repeat.headers["X-Deduplicated"] == "true"
    assert conflict.json()["error"] == "dedup_conflict"
    assert other_person.json()["id"] != first.json()["id"]
    assert composition.credit_ledger().balance(company.id) == balance - 1


def test_twenty_concurrent_repeats_make_one_message(api, company):
    body = spec_example_body()

    def post(_: int) -> tuple[int, str]:
        reply = api.request("POST", "/v1/messages/schedule", company, body)
        return reply.status, reply.json().get("id", "")

    with ThreadPoolExecutor(max_workers=20) as pool:
        results = list(pool.map(post, range(20)))

    created = {message_id for status, message_id in results if status == 201}
    assert len(created) == 1
    assert {status for status, _ in results} <= {201, 409}
    assert [m["id"] for m in api.request("GET", "/v1/messages", company).json()["data"]] == list(created)


def test_a_cancelled_message_is_never_sent(api, company, ticker):
    body = spec_example_body()
    message = schedule(api, company, body).json()

    cancelled = api.request("DELETE", f"/v1/messages/{message['id']}", company)
    again = api.request("DELETE", f"/v1/messages/{message['id']}", company)
    ticker.at(soon(5))

    assert cancelled.status == 200 and cancelled.json()["status"] == "cancelled" and cancelled.json()["cancelled_at"]
    assert again.status == 422 and again.json()["error"] == "not_pending"
    assert api.request("GET", f"/v1/messages/{message['id']}", company).json()["status"] == "cancelled"
    assert not [
        m for m in ses_backends["123456789012"]["us-east-1"].sent_messages if body["recipient"] in str(m.destinations)
    ]


def test_lists_filter_by_person_brand_template_status_and_channel(api, company):
    person = "person-list"
    assert api.request("PUT", "/v1/templates/other", company, TEMPLATE).status == 200
    first = schedule(api, company, spec_example_body(person_id=person)).json()
    second = schedule(api, company, spec_example_body(person_id=person, template_key="other")).json()
    third = schedule(api, company, spec_example_body(channel="sms", recipient="+14155550123")).json()
    api.request("DELETE", f"/v1/messages/{first['id']}", company)

    def ids(query: str) -> list[str]:
        reply = api.request("GET", f"/v1/messages{query}", company)
        assert reply.status == 200, reply.text
        return [m["id"] for m in reply.json()["data"]]

    assert ids("") == [third["id"], second["id"], first["id"]]
    assert ids(f"?person_id={person}") == [second["id"], first["id"]]
    assert ids("?template_key=other") == [second["id"]]
    assert ids("?brand_id=acme-dental&status=cancelled") == [first["id"]]
    assert ids("?channel=sms") == [third["id"]]
    assert ids("?channel=push") == []
    page = api.request("GET", "/v1/messages?limit=2", company).json()
    rest = api.request("GET", f"/v1/messages?limit=2&cursor={page['meta']['next_cursor']}", company).json()
    assert [m["id"] for m in page["data"] + rest["data"]] == [third["id"], second["id"], first["id"]]
    assert api.request("GET", "/v1/messages?status=pending", company).status == 422


def test_another_companys_messages_templates_and_brands_are_404s(api, company, make_company):
    message = schedule(api, company, spec_example_body()).json()
    other = make_company()

    for path in (f"/v1/messages/{message['id']}", "/v1/templates/appointment_reminder", "/v1/brands/acme-dental"):
        assert api.request("GET", path, other).status == 404, path
    assert api.request("DELETE", f"/v1/messages/{message['id']}", other).status == 404
    assert api.request("GET", "/v1/messages", other).json()["data"] == []
    assert api.request("GET", f"/v1/scheduled-communications/{message['id']}", company).status == 404


def test_messages_need_their_scopes(api, company, make_company):
    reader = make_company(scopes=("messages:read",))
    sms_only = make_company(scopes=("messages:write", "sms:send"))

    assert schedule(api, reader, spec_example_body(), status=403).json()["error"] == "insufficient_scope"
    assert "email:send" in schedule(api, sms_only, spec_example_body(), status=403).json()["message"]


def test_an_unsupported_method_is_a_405_in_the_specs_error_shape(api, company):
    reply = api.request("PATCH", "/v1/messages/schedule", company, {})

    assert reply.status == 405
    assert reply.headers["Allow"] == "POST"
    assert reply.json()["error"] == "method_not_allowed"


def stored_text(table: str) -> str:
    """Everything the table holds, as text: every item, with compressed payloads unpacked."""
    client = boto3.client("dynamodb")
    texts = []
    for page in client.get_paginator("scan").paginate(TableName=table):
        for item in page["Items"]:
            for value in item.values():
                if "B" in value:
                    texts.append(zlib.decompress(bytes(value["B"])).decode())
            texts.append(json.dumps(item, default=str))
    return "\n".join(texts)


@contextmanager
def every_log_line() -> Iterator[io.StringIO]:
    """Every line the service logs meanwhile, at every level, as its formatter writes it."""
    captured = io.StringIO()
    handler = logging.StreamHandler(captured)
    handler.setFormatter(logger.registered_formatter)
    logger.addHandler(handler)
    level = logger.log_level
    logger.setLevel("DEBUG")
    try:
        yield captured
    finally:
        logger.setLevel(level)
        logger.removeHandler(handler)


def test_a_hipaa_message_never_shows_its_variables_and_purges_them_once_sent(api, company, ticker, events_queue):
    secret = f"PHI-{uuid.uuid4().hex}"
    body = spec_example_body(hipaa=True, variables={"first_name": secret, "time": "9:00"})
    published(events_queue)

    with every_log_line() as logs:
        scheduled = schedule(api, company, body)
        sealed_row = composition.communication_store().get(company.id, scheduled.json()["id"])
        stored_while_scheduled = stored_text(get_settings().communications_table)
        ticker.at(soon(5))
        read = api.request("GET", f"/v1/messages/{scheduled.json()['id']}", company)
        listed = api.request("GET", "/v1/messages", company)
    stored_after = stored_text(get_settings().communications_table)
    purged_row = composition.communication_store().get(company.id, scheduled.json()["id"])

    assert read.json()["status"] == "sent"
    assert secret in ses_message_to(body["recipient"]).body  # the email itself carries it: that is the send
    assert (scheduled.json()["variables"], scheduled.json()["variable_names"]) == (None, ["first_name", "time"])
    assert "sealed_variables" in sealed_row.payload["message"]
    assert "sealed_variables" not in purged_row.payload["message"]
    assert purged_row.payload["message"]["variable_names"] == ["first_name", "time"]
    assert scheduled.json()["id"] in logs.getvalue()  # the logs were captured, and name the message
    for where, text in {
        "schedule answer": scheduled.text,
        "read answer": read.text,
        "list answer": listed.text,
        "table while scheduled": stored_while_scheduled,
        "table after": stored_after,
        "events": json.dumps(published(events_queue)),
        "logs": logs.getvalue(),
    }.items():
        assert secret not in text, where


def test_a_hipaa_sms_needs_a_phi_safe_template(api, company):
    safe = {**TEMPLATE, "phi_safe": True}
    assert api.request("PUT", "/v1/templates/safe", company, safe).status == 200
    body = spec_example_body(channel="sms", recipient="+14155550123", hipaa=True)

    refused = schedule(api, company, body, status=422)
    accepted = schedule(api, company, {**body, "template_key": "safe"})

    assert [d["field"] for d in refused.json()["details"]] == ["template_key"]
    assert accepted.json()["hipaa"] is True


def test_sealed_variables_open_only_for_their_own_message_and_unaltered(stack):
    sealer = composition.message_sealer()
    context = {"company_id": "c1", "message_id": "m1", "purpose": "message-variables"}
    sealed = sealer.seal(b'{"dob": "1970-01-01"}', context)

    assert sealer.open(sealed, context) == b'{"dob": "1970-01-01"}'
    with pytest.raises(SealBroken):
        sealer.open(sealed, {**context, "message_id": "m2"})
    altered = {**sealed, "data": base64.b64encode(b"x" + base64.b64decode(sealed["data"])[1:]).decode()}
    with pytest.raises(SealBroken):
        sealer.open(altered, context)
    assert b"1970" not in json.dumps(sealed).encode()


def test_the_schedule_path_is_its_own_resource_not_a_message_id(api, company):
    reply = api.request("GET", "/v1/messages/schedule", company)

    assert reply.status == 405
    assert reply.headers["Allow"] == "POST"


@pytest.mark.slow
def test_cancels_racing_the_tick_never_let_a_cancelled_message_be_sent(api, company, ticker):
    bodies = [spec_example_body(scheduled_at=soon(-30).isoformat()) for _ in range(30)]
    messages = [schedule(api, company, body).json() for body in bodies]

    started = threading.Event()

    def cancel(index_and_message: tuple[int, dict[str, Any]]) -> int:
        index, message = index_and_message
        started.wait()
        time.sleep(index * 0.02)  # spread over the tick's pass, so some cancels come before and some after
        return api.request("DELETE", f"/v1/messages/{message['id']}", company).status

    with ThreadPoolExecutor(max_workers=8) as pool:
        tick = pool.submit(ticker.at, soon(5))
        cancels = pool.map(cancel, enumerate(messages))
        started.set()
        statuses = list(cancels)
        tick.result()
    ticker.at(soon(10))

    finals = [api.request("GET", f"/v1/messages/{m['id']}", company).json()["status"] for m in messages]
    for body, status, final in zip(bodies, statuses, finals, strict=True):
        sent = [
            m
            for m in ses_backends["123456789012"]["us-east-1"].sent_messages
            if body["recipient"] in str(m.destinations)
        ]
        if status == 200:
            assert (final, sent) == ("cancelled", [])
        else:
            assert status == 422 and final == "sent" and len(sent) == 1
    assert "cancelled" in finals, "some cancels should win the race"
