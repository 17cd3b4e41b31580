"""The tick: every status transition, senders, business hours, retries, leases and events."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import boto3
import pytest
from scheduled_comms import composition
from scheduled_comms.models.domain import Channel, DueRow, now_utc
from scheduled_comms.models.registry import SenderSettings
from scheduled_comms.settings import get_settings

from tests.integration.conftest import events_queue as _events_queue  # noqa: F401
from tests.integration.conftest import outbox_for, published, soon, unique_email
from tests.integration.test_create import COLLECTION, CONFIG, PHONE_NUMBER, email_body, sms_body, voice_body


def schedule(api, company, body) -> dict:
    reply = api.request("POST", COLLECTION, company, body)
    assert reply.status == 201, reply.text
    return reply.json()["data"]


def fetch(api, company, row_id) -> dict:
    return api.request("GET", f"{COLLECTION}/{row_id}", company).json()["data"]


def register_voice(api, company, simulator, webhook_secret: str | None = None) -> str:
    body = {
        "name": "Sim agent",
        "endpoint_url": f"{simulator.url}/calls",
        "agent_id": "agent-1",
        "api_key": "sim-api-key-0123456789",
        **({"webhook_secret": webhook_secret} if webhook_secret else {}),
    }
    reply = api.request("POST", "/v1/voice-agent-configs", company, body)
    assert reply.status == 201, reply.text
    created = reply.json()["data"]
    simulator.register(created["id"], body["api_key"], created["webhook_secret"])
    return created["id"]


def register_number(api, company, number: str = "+14155550100") -> str:
    reply = api.request("POST", "/v1/phone-numbers", company, {"number": number, "label": "main"})
    assert reply.status == 201, reply.text
    return reply.json()["data"]["id"]


def email_now(**overrides) -> dict:
    body = email_body(**{"scheduled_for": soon(1).isoformat(), "respect_business_hours": False, **overrides})
    body["payload"]["to_email"] = unique_email()
    return body


def test_due_email_is_sent_through_ses_and_marked_dispatched(api, make_company, ticker, events_queue):
    company = make_company()
    row = schedule(api, company, email_now())
    published(events_queue)

    summary = ticker.at(soon(5))

    data = fetch(api, company, row["id"])
    assert data["status"] == "dispatched"
    assert data["attempt_count"] == 1
    assert data["dispatched_at"] is not None
    sent = outbox_for(row["payload"]["to_email"])
    assert [entry["external_id"] for entry in sent] == [data["dispatched_external_id"]]
    assert sent[0]["subject"] == "Following up on your quote"
    assert summary["dispatched"] >= 1
    events = [e for e in published(events_queue) if e["detail"]["id"] == row["id"]]
    assert [e["detail-type"] for e in events] == ["ScheduledCommunication.Dispatched"]
    assert events[0]["detail"]["company_id"] == company.id
    assert events[0]["detail"]["contact_id"] == row["contact_id"]
    assert "to_email" not in events[0]["detail"]


def test_rows_not_yet_due_are_left_alone(api, make_company, ticker):
    company = make_company()
    row = schedule(api, company, email_body(scheduled_for=(datetime.now(UTC) + timedelta(hours=3)).isoformat()))

    ticker.at(soon(5))

    assert fetch(api, company, row["id"])["status"] == "pending"


def test_sms_goes_out_from_the_registered_number(api, make_company, ticker):
    company = make_company()
    number_id = register_number(api, company)
    to = f"+1415555{uuid.uuid4().int % 10000:04d}"
    body = sms_body(scheduled_for=soon(1).isoformat())
    body["payload"].update(phone_number_id=number_id, to_number=to)
    row = schedule(api, company, body)

    ticker.at(soon(5))

    data = fetch(api, company, row["id"])
    assert data["status"] == "dispatched"
    sent = {entry["external_id"]: entry for entry in outbox_for(to)}
    assert sent[data["dispatched_external_id"]]["recipient"] == to
    assert sent[data["dispatched_external_id"]]["excerpt"] == "See you at 3pm"


def forget_registration(company_id: str, sort_key: str) -> None:
    """A registration gone after a row named it: the send-time check is the second line."""
    from scheduled_comms.adapters.dynamodb.items import company_pk

    boto3.client("dynamodb").delete_item(
        TableName=get_settings().communications_table, Key={"pk": {"S": company_pk(company_id)}, "sk": {"S": sort_key}}
    )
    composition.reset()


def test_a_sender_number_unregistered_after_create_fails_with_a_clear_error(api, make_company, ticker, events_queue):
    company = make_company()
    row = schedule(api, company, sms_body(scheduled_for=soon(1).isoformat()))
    forget_registration(company.id, f"PN#{PHONE_NUMBER}")
    published(events_queue)

    ticker.at(soon(5))

    data = fetch(api, company, row["id"])
    assert data["status"] == "failed"
    assert "not a registered sender number" in data["last_error"]
    assert [e["detail-type"] for e in published(events_queue) if e["detail"]["id"] == row["id"]] == [
        "ScheduledCommunication.Failed"
    ]


def test_voice_call_is_placed_with_the_row_and_attempt_as_idempotency_key(api, make_company, ticker, fresh_simulator):
    company = make_company()
    config_id = register_voice(api, company, fresh_simulator)
    body = voice_body(scheduled_for=soon(1).isoformat(), respect_business_hours=False)
    body["payload"]["voice_agent_outbound_config_id"] = config_id
    del body["payload"]["follow_ups"]
    body["payload"]["metadata"] = {"campaign": "renewals"}
    row = schedule(api, company, body)

    ticker.at(soon(5))

    data = fetch(api, company, row["id"])
    assert data["status"] == "dispatched"
    call = next(c for c in fresh_simulator.calls() if c.call_id == data["dispatched_external_id"])
    assert call.idempotency_key == f"{row['id']}:1"
    assert call.dynamic_variables == {"contact_name": "Sarah"}
    assert call.metadata["campaign"] == "renewals"
    assert call.metadata["communication_id"] == row["id"]


def test_a_voice_config_unregistered_after_create_fails(api, make_company, ticker):
    company = make_company()
    row = schedule(api, company, voice_body(scheduled_for=soon(1).isoformat(), respect_business_hours=False))
    forget_registration(company.id, f"VAC#{CONFIG}")

    ticker.at(soon(5))

    data = fetch(api, company, row["id"])
    assert data["status"] == "failed"
    assert "not a registered voice-agent config" in data["last_error"]


def test_retryable_errors_back_off_then_fail_after_the_voice_limit(api, make_company, ticker, fresh_simulator):
    company = make_company()
    config_id = register_voice(api, company, fresh_simulator)
    body = voice_body(scheduled_for=soon(1).isoformat(), respect_business_hours=False)
    body["payload"]["voice_agent_outbound_config_id"] = config_id
    del body["payload"]["follow_ups"]
    row = schedule(api, company, body)
    fresh_simulator.fail_next.extend([503, 503])

    first_at = soon(5)
    ticker.at(first_at)
    retried = fetch(api, company, row["id"])
    ticker.at(datetime.fromisoformat(retried["scheduled_for"]) + timedelta(seconds=1))
    failed = fetch(api, company, row["id"])

    assert retried["status"] == "pending"
    assert retried["attempt_count"] == 1
    assert "503" in retried["last_error"]
    delay = (datetime.fromisoformat(retried["scheduled_for"]) - first_at).total_seconds()
    assert 30 <= delay <= 60, "first backoff is 60 s with equal jitter"
    assert retried["original_scheduled_for"] == row["scheduled_for"]
    assert failed["status"] == "failed"
    assert failed["attempt_count"] == 2
    assert "503" in failed["last_error"]


def test_permanent_provider_errors_fail_at_once(api, make_company, ticker, fresh_simulator):
    company = make_company()
    config_id = register_voice(api, company, fresh_simulator)
    body = voice_body(scheduled_for=soon(1).isoformat(), respect_business_hours=False)
    body["payload"]["voice_agent_outbound_config_id"] = config_id
    row = schedule(api, company, body)
    fresh_simulator.fail_next.append(400)

    ticker.at(soon(5))

    data = fetch(api, company, row["id"])
    assert data["status"] == "failed"
    assert data["attempt_count"] == 1
    assert "400" in data["last_error"]


def test_email_retries_up_to_three_attempts(api, make_company, ticker, monkeypatch):
    from scheduled_comms.models.domain import SendResult

    company = make_company()
    row = schedule(api, company, email_now())
    monkeypatch.setattr(
        composition.senders()._by_channel[Channel.EMAIL], "send", lambda _row: SendResult.retry("Throttling: slow down")
    )
    moment = soon(5)
    statuses = []
    for _ in range(3):
        ticker.at(moment)
        data = fetch(api, company, row["id"])
        statuses.append((data["status"], data["attempt_count"]))
        moment = datetime.fromisoformat(data["scheduled_for"]) + timedelta(seconds=1)

    assert statuses == [("pending", 1), ("pending", 2), ("failed", 3)]
    assert fetch(api, company, row["id"])["last_error"] == "Throttling: slow down"


def test_business_hours_hold_moves_the_row_to_the_next_window(api, make_company, ticker):
    company = make_company()
    hours = {"timezone": "UTC", "windows": {"mon": [{"start": "09:00", "end": "17:00"}]}}
    assert api.request("PUT", "/v1/settings/business-hours", company, hours).status == 200
    row = schedule(api, company, email_now(respect_business_hours=True, timezone="Australia/Sydney"))
    now = soon(5)

    ticker.at(now)

    held = fetch(api, company, row["id"])
    assert held["status"] == "pending"
    assert held["attempt_count"] == 0
    assert held["original_scheduled_for"] == row["scheduled_for"]
    opens = datetime.fromisoformat(held["scheduled_for"])
    local = opens.astimezone(__import__("zoneinfo").ZoneInfo("Australia/Sydney"))
    assert opens > now and local.weekday() == 0 and local.hour == 9 and local.minute == 0

    ticker.at(opens + timedelta(seconds=2))

    assert fetch(api, company, row["id"])["status"] == "dispatched"


def test_cancel_policy_expiry_skips_instead_of_sending(api, make_company, ticker, events_queue):
    company = make_company()
    row = schedule(api, company, email_now(cancel_policy={"expire_after_minutes": 5}))
    published(events_queue)

    ticker.at(soon(600))

    data = fetch(api, company, row["id"])
    assert data["status"] == "skipped"
    assert "expired" in data["skip_reason"]
    assert data["attempt_count"] == 0
    assert outbox_for(row["payload"]["to_email"]) == []
    assert [e["detail-type"] for e in published(events_queue) if e["detail"]["id"] == row["id"]] == [
        "ScheduledCommunication.Skipped"
    ]


def test_cancelled_rows_are_published_and_never_sent(api, make_company, ticker, events_queue):
    company = make_company()
    row = schedule(api, company, email_now())
    published(events_queue)
    assert api.request("DELETE", f"{COLLECTION}/{row['id']}", company).status == 204

    ticker.at(soon(5))

    assert fetch(api, company, row["id"])["status"] == "cancelled"
    assert outbox_for(row["payload"]["to_email"]) == []
    assert [e["detail-type"] for e in published(events_queue) if e["detail"]["id"] == row["id"]] == [
        "ScheduledCommunication.Cancelled"
    ]


def test_crashed_tick_lease_is_taken_over_and_the_call_is_not_placed_twice(api, make_company, ticker, fresh_simulator):
    company = make_company()
    config_id = register_voice(api, company, fresh_simulator)
    body = voice_body(scheduled_for=soon(1).isoformat(), respect_business_hours=False)
    body["payload"]["voice_agent_outbound_config_id"] = config_id
    del body["payload"]["follow_ups"]
    row = schedule(api, company, body)
    store = composition.dispatch_store()
    crash_time = soon(5)
    # A tick claims the row, places the call, and dies before recording it.
    claimed = store.claim(
        DueRow(company.id, row["id"], Channel.VOICE_CALL, crash_time), crash_time, crash_time + timedelta(seconds=180)
    )
    assert claimed is not None
    first = composition.senders().send(claimed)
    assert first.outcome == "sent"

    ticker.at(crash_time + timedelta(seconds=60))
    assert fetch(api, company, row["id"])["status"] == "dispatching", "the lease has not run out yet"
    ticker.at(crash_time + timedelta(seconds=181))

    data = fetch(api, company, row["id"])
    assert data["status"] == "dispatched"
    assert data["dispatched_external_id"] == first.external_id
    assert [c.call_id for c in fresh_simulator.calls() if c.metadata["communication_id"] == row["id"]] == [
        first.external_id
    ]
    # The crashed tick, waking up, is fenced out.
    assert not store.transition(claimed, claimed.model_copy(update={"last_error": "late"}))
    assert fetch(api, company, row["id"])["last_error"] is None


def test_lease_takeover_on_the_last_attempt_fails_the_row(api, make_company, ticker):
    company = make_company()
    row = schedule(api, company, email_now())
    store = composition.dispatch_store()
    moment = soon(5)
    for _ in range(3):  # three claims that all crash
        key = DueRow(company.id, row["id"], Channel.EMAIL, moment)
        claimed = store.claim(key, moment, moment + timedelta(seconds=1)) or store.take_over(
            key, moment, moment + timedelta(seconds=1)
        )
        assert claimed is not None
        moment += timedelta(seconds=2)

    ticker.at(moment)

    data = fetch(api, company, row["id"])
    assert data["status"] == "failed"
    assert data["attempt_count"] == 3
    assert outbox_for(row["payload"]["to_email"]) == []


def test_dispatch_now_row_goes_out_on_the_next_tick(api, make_company, ticker):
    company = make_company()
    row = schedule(api, company, email_body(scheduled_for=(now_utc() + timedelta(days=2)).isoformat()))
    assert api.request("POST", f"{COLLECTION}/{row['id']}/dispatch-now", company).status == 200

    ticker.at(soon(2))

    assert fetch(api, company, row["id"])["status"] == "dispatched"


@pytest.mark.parametrize("offset", [0, 30])
def test_tick_summary_counts(api, make_company, ticker, offset):
    company = make_company()
    rows = [schedule(api, company, email_now()) for _ in range(3)]

    summary = ticker.at(soon(5 + offset))

    assert summary["dispatched"] >= 3
    assert summary["passes"] == 1
    assert all(fetch(api, company, r["id"])["status"] == "dispatched" for r in rows)


def test_one_rows_error_does_not_stop_the_tick(api, make_company, ticker, monkeypatch):
    company = make_company()
    rows = [schedule(api, company, email_now()) for _ in range(4)]
    doomed = rows[1]["id"]
    sender = composition.senders()
    real_send = sender.send

    def flaky(row):
        if row.id == doomed:
            raise RuntimeError("provider client exploded")
        return real_send(row)

    monkeypatch.setattr(sender, "send", flaky)

    ticker.at(soon(5))

    statuses = {r["id"]: fetch(api, company, r["id"]) for r in rows}
    assert [statuses[r["id"]]["status"] for r in rows if r["id"] != doomed] == ["dispatched"] * 3
    assert statuses[doomed]["status"] == "pending"
    assert statuses[doomed]["last_error"] == "internal error: RuntimeError"
    assert statuses[doomed]["attempt_count"] == 1


def set_sender(company_id: str, address: str) -> None:
    composition.directory().put_sender_settings(company_id, SenderSettings(default_from_email=address), now_utc())
    composition.reset()  # the tick's directory caches settings


def test_a_from_email_the_company_no_longer_sends_from_fails_at_send(api, make_company, ticker):
    company = make_company()
    set_sender(company.id, "team@example.com")
    row = schedule(api, company, email_now(payload={**email_now()["payload"], "from_email": "sales@example.com"}))
    set_sender(company.id, "team@example.org")  # the company's sender moved after the row was written

    ticker.at(soon(5))

    refused = fetch(api, company, row["id"])
    assert refused["status"] == "failed"
    assert "not this company's sender domain" in refused["last_error"]


def test_a_holiday_holds_rows_that_respect_business_hours_to_the_next_open_day(api, make_company, ticker):
    company = make_company()
    now = soon(5)
    today = now.date()
    every_day = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
    hours = {"timezone": "UTC", "windows": {day: [{"start": "00:00", "end": "24:00"}] for day in every_day}}
    assert api.request("PUT", "/v1/settings/business-hours", company, hours).status == 200
    holidays = {"holidays": [{"date": today.isoformat(), "name": "Founders' Day"}]}
    put = api.request("PUT", "/v1/settings/holidays", company, holidays)
    assert put.status == 200 and api.request("GET", "/v1/settings/holidays", company).json() == put.json()
    held = schedule(api, company, email_now(respect_business_hours=True, timezone="UTC"))
    sent = schedule(api, company, email_now())

    ticker.at(now)

    row = fetch(api, company, held["id"])
    assert row["status"] == "pending"
    assert datetime.fromisoformat(row["scheduled_for"]) == datetime.combine(
        today + timedelta(days=1), datetime.min.time(), tzinfo=UTC
    )
    assert fetch(api, company, sent["id"])["status"] == "dispatched"


def test_holidays_refuse_a_repeat_or_a_bad_date(api, make_company):
    company = make_company()
    twice = {"holidays": [{"date": "2026-12-25"}, {"date": "2026-12-25", "name": "again"}]}
    for body, field in ((twice, "holidays[1]"), ({"holidays": [{"date": "25/12/2026"}]}, "holidays[0].date")):
        reply = api.request("PUT", "/v1/settings/holidays", company, body)
        assert reply.status == 422, reply.text
        assert [d["field"] for d in reply.json()["error"]["details"]] == [field]
    assert api.request("GET", "/v1/settings/holidays", company).json()["data"] == {"holidays": []}
