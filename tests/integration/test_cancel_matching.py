"""Cancel by contact, deal, customer, address or the client's cancellation key: every pending row it names,
across channels, through indexes; bounded pages resumed with a cursor; nothing it cancelled is ever sent."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from tests.integration.conftest import outbox_for, soon, unique_email
from tests.integration.test_create import COLLECTION, email_body, sms_body, voice_body
from tests.integration.test_dispatch import fetch, register_voice, schedule
from tests.integration.test_messages import company as messages_company  # noqa: F401

CANCEL = f"{COLLECTION}/cancel"


def later(body: dict, **fields) -> dict:
    return {**body, "scheduled_for": soon(3600).isoformat(), "respect_business_hours": False, **fields}


def cancel(api, company, **body) -> dict:
    reply = api.request("POST", CANCEL, company, body)
    assert reply.status == 200, reply.text
    return reply.json()["data"]


def test_a_contact_s_pending_rows_are_cancelled_on_every_channel_and_others_are_left(api, make_company):
    company = make_company()
    contact, other = str(uuid.uuid4()), str(uuid.uuid4())
    mine = [
        schedule(api, company, later(email_body(), contact_id=contact)),
        schedule(api, company, later(sms_body(), contact_id=contact)),
        schedule(api, company, later(voice_body(), contact_id=contact)),
    ]
    kept = schedule(api, company, later(sms_body(), contact_id=other))

    result = cancel(api, company, contact_id=contact)

    assert (result["cancelled"], result["matched"], result["next_cursor"]) == (3, 3, None)
    assert {fetch(api, company, row["id"])["status"] for row in mine} == {"cancelled"}
    assert fetch(api, company, kept["id"])["status"] == "pending"
    assert cancel(api, company, contact_id=contact)["cancelled"] == 0  # again: nothing left to cancel


def test_a_cancellation_key_stops_its_rows_and_their_cadence_follow_ups(api, make_company, ticker, fresh_simulator):
    from tests.integration.test_cadence import cadence_body

    company = make_company()
    key = f"deal-{uuid.uuid4().hex[:8]} closed"
    config_id = register_voice(api, company, fresh_simulator)
    first = schedule(api, company, {**cadence_body(config_id), "cancellation_key": key})
    other = schedule(api, company, later(email_body(), cancellation_key="another key"))
    ticker.at(soon(5))  # the first call goes out and queues its follow-up, which inherits the key
    rows = api.request("GET", f"{COLLECTION}?contact_id={first['contact_id']}", company).json()["data"]
    follow_up = next(r for r in rows if r["cadence_attempt"] == 2)
    assert follow_up["cancellation_key"] == key

    result = cancel(api, company, cancellation_key=key)

    assert result["cancelled"] == 1
    assert fetch(api, company, follow_up["id"])["status"] == "cancelled"
    assert fetch(api, company, first["id"])["status"] == "dispatched"
    assert fetch(api, company, other["id"])["status"] == "pending"
    ticker.at(datetime.fromisoformat(follow_up["scheduled_for"]) + timedelta(seconds=1))
    assert fetch(api, company, follow_up["id"])["status"] == "cancelled"


def test_an_address_is_matched_whatever_its_case_and_a_patched_address_moves_with_the_row(api, make_company):
    company = make_company()
    address = unique_email()
    body = later(email_body())
    body["payload"]["to_email"] = address.upper()
    moved = schedule(api, company, body)
    patched = {**body["payload"], "to_email": unique_email()}
    assert api.request("PATCH", f"{COLLECTION}/{moved['id']}", company, {"payload": patched}).status == 200
    body["payload"]["to_email"] = address
    stays = schedule(api, company, body)

    result = cancel(api, company, to_email=address.title())

    assert result["cancelled"] == 1
    assert fetch(api, company, stays["id"])["status"] == "cancelled"
    assert fetch(api, company, moved["id"])["status"] == "pending"
    assert cancel(api, company, to_email=patched["to_email"])["cancelled"] == 1


def test_a_templated_message_is_cancelled_by_its_recipient(api, messages_company):  # noqa: F811
    from tests.integration.test_messages import spec_example_body

    body = spec_example_body(scheduled_at=soon(3600).isoformat())
    message = api.request("POST", "/v1/messages/schedule", messages_company, body).json()

    assert cancel(api, messages_company, to_email=body["recipient"])["cancelled"] == 1
    assert api.request("GET", f"/v1/messages/{message['id']}", messages_company).json()["status"] == "cancelled"


def test_a_large_match_is_worked_through_in_pages_with_a_cursor(api, make_company, monkeypatch):
    from scheduled_comms.logic import communications

    monkeypatch.setattr(communications, "CANCEL_PAGE", 3)
    company = make_company()
    key = "big sequence"
    rows = [schedule(api, company, later(sms_body(), cancellation_key=key)) for _ in range(7)]

    pages, cursor = [], None
    while True:
        result = cancel(api, company, cancellation_key=key, **({"cursor": cursor} if cursor else {}))
        pages.append(result["cancelled"])
        cursor = result["next_cursor"]
        if cursor is None:
            break

    assert pages == [3, 3, 1]
    assert {fetch(api, company, row["id"])["status"] for row in rows} == {"cancelled"}


def test_a_cursor_is_bound_to_its_company_and_match(api, make_company, monkeypatch):
    from scheduled_comms.logic import communications

    monkeypatch.setattr(communications, "CANCEL_PAGE", 1)
    company, other = make_company(), make_company()
    contact = str(uuid.uuid4())
    for _ in range(2):
        schedule(api, company, later(sms_body(), contact_id=contact))
    cursor = cancel(api, company, contact_id=contact)["next_cursor"]

    stolen = api.request("POST", CANCEL, other, {"contact_id": contact, "cursor": cursor})
    moved = api.request("POST", CANCEL, company, {"deal_id": contact, "cursor": cursor})
    assert stolen.status == moved.status == 400


def test_another_companys_rows_are_never_cancelled(api, make_company):
    owner, other = make_company(), make_company()
    contact = str(uuid.uuid4())
    row = schedule(api, owner, later(sms_body(), contact_id=contact))

    assert cancel(api, other, contact_id=contact) == {"cancelled": 0, "matched": 0, "next_cursor": None}
    assert fetch(api, owner, row["id"])["status"] == "pending"


def test_the_body_must_name_exactly_one_match(api, make_company):
    company = make_company()
    for body in ({}, {"contact_id": str(uuid.uuid4()), "deal_id": str(uuid.uuid4())}, {"to_number": "12"}):
        reply = api.request("POST", CANCEL, company, body)
        assert reply.status == 422, (body, reply.text)
    assert api.request("GET", CANCEL, company).status == 405


def test_a_cancelled_row_is_never_sent_even_when_its_tick_is_due(api, make_company, ticker):
    company = make_company()
    contact = str(uuid.uuid4())
    body = email_body(scheduled_for=soon(2).isoformat(), respect_business_hours=False, contact_id=contact)
    body["payload"]["to_email"] = unique_email()
    row = schedule(api, company, body)

    cancel(api, company, contact_id=contact)
    ticker.at(soon(10))

    assert fetch(api, company, row["id"])["status"] == "cancelled"
    assert outbox_for(body["payload"]["to_email"]) == []
