"""Voice cadence: follow-up calls queued as new rows, and stopped by a real conversation."""

from __future__ import annotations

import json
import time
from datetime import datetime, timedelta

import pytest
from scheduled_comms.logic.voice_outcomes import SIGNATURE_HEADER, sign

from tests.integration.conftest import soon
from tests.integration.test_create import COLLECTION, voice_body
from tests.integration.test_dispatch import fetch, register_voice, schedule


def cadence_body(config_id: str) -> dict:
    body = voice_body(scheduled_for=soon(1).isoformat(), respect_business_hours=False)
    body["payload"]["voice_agent_outbound_config_id"] = config_id
    body["payload"]["follow_ups"].update(voice_agent_outbound_config_id=config_id, respect_business_hours=False)
    return body


def test_cadence_continues_without_an_answer_and_stops_on_conversation(api, make_company, ticker, fresh_simulator):
    company = make_company()
    config_id = register_voice(api, company, fresh_simulator)
    first = schedule(api, company, cadence_body(config_id))
    first_at = soon(5)

    ticker.at(first_at)
    first_done = fetch(api, company, first["id"])
    rows = api.request("GET", f"{COLLECTION}?contact_id={first['contact_id']}", company).json()["data"]
    second = next(r for r in rows if r["cadence_attempt"] == 2)

    assert first_done["status"] == "dispatched"
    assert first_done["cadence_id"] == first["id"] and first_done["cadence_attempt"] == 1
    assert second["status"] == "pending"
    assert second["source"] == "cadence"
    assert second["cadence_id"] == first["id"]
    queued_after = datetime.fromisoformat(second["scheduled_for"]) - datetime.fromisoformat(first_done["dispatched_at"])
    assert queued_after == timedelta(hours=2)

    assert fresh_simulator.end(first_done["dispatched_external_id"], "no_answer") == 200
    assert fetch(api, company, first["id"])["call_outcome"]["end_reason"] == "no_answer"
    assert fetch(api, company, second["id"])["status"] == "pending", "no conversation: the cadence goes on"

    ticker.at(datetime.fromisoformat(second["scheduled_for"]) + timedelta(seconds=1))
    second_done = fetch(api, company, second["id"])
    rows = api.request("GET", f"{COLLECTION}?contact_id={first['contact_id']}&status=pending", company).json()["data"]
    third = next(r for r in rows if r["cadence_attempt"] == 3)
    assert second_done["status"] == "dispatched"
    assert datetime.fromisoformat(third["scheduled_for"]) - datetime.fromisoformat(
        second_done["dispatched_at"]
    ) == timedelta(hours=24)

    assert fresh_simulator.end(second_done["dispatched_external_id"], "conversation", 25) == 200

    stopped = fetch(api, company, third["id"])
    assert stopped["status"] == "skipped"
    assert "spoke for 25s" in stopped["skip_reason"]
    assert fetch(api, company, second["id"])["call_outcome"]["talk_seconds"] == 25


def test_short_answer_does_not_stop_the_cadence(api, make_company, ticker, fresh_simulator):
    company = make_company()
    config_id = register_voice(api, company, fresh_simulator)
    first = schedule(api, company, cadence_body(config_id))
    ticker.at(soon(5))
    done = fetch(api, company, first["id"])

    assert fresh_simulator.end(done["dispatched_external_id"], "conversation", 9) == 200

    queued = api.request("GET", f"{COLLECTION}?contact_id={first['contact_id']}&status=pending", company).json()["data"]
    assert any(r["cadence_id"] == first["id"] and r["cadence_attempt"] == 2 for r in queued)


def test_last_call_of_a_cadence_queues_nothing(api, make_company, ticker, fresh_simulator):
    company = make_company()
    config_id = register_voice(api, company, fresh_simulator)
    body = cadence_body(config_id)
    body["payload"]["follow_ups"].update(max_attempts=1, follow_up_delays=[])
    first = schedule(api, company, body)

    ticker.at(soon(5))

    done = fetch(api, company, first["id"])
    assert done["status"] == "dispatched"
    pending = api.request("GET", f"{COLLECTION}?status=pending", company).json()["data"]
    assert pending == []


def _webhook(api, body: dict, signature: str | None):
    headers = {"Content-Type": "application/json"}
    if signature is not None:
        headers[SIGNATURE_HEADER] = signature
    return api.request("POST", "/v1/webhooks/voice", body=json.dumps(body), headers=headers)


def _dispatched_call(api, make_company, ticker, simulator, secret):
    company = make_company()
    config_id = register_voice(api, company, simulator, webhook_secret=secret)
    first = schedule(api, company, cadence_body(config_id))
    ticker.at(soon(5))
    done = fetch(api, company, first["id"])
    body = {
        "call_id": done["dispatched_external_id"],
        "metadata": {
            "communication_id": first["id"],
            "company_id": company.id,
            "voice_agent_outbound_config_id": config_id,
        },
        "answered": True,
        "talk_seconds": 30,
        "end_reason": "completed",
    }
    return company, first, body


def test_webhook_signatures(api, make_company, ticker, fresh_simulator):
    secret = "w" * 32
    company, first, body = _dispatched_call(api, make_company, ticker, fresh_simulator, secret)
    raw = json.dumps(body).encode()
    now = int(time.time())

    unsigned = _webhook(api, body, None)
    forged = _webhook(api, body, sign("x" * 32, now, raw))
    stale = _webhook(api, body, sign(secret, now - 3600, raw))
    garbled = _webhook(api, body, "t=abc,v1=00")
    tampered = _webhook(api, {**body, "talk_seconds": 99}, sign(secret, now, raw))
    assert [r.status for r in (unsigned, forged, stale, garbled, tampered)] == [401] * 5
    assert fetch(api, company, first["id"])["call_outcome"] is None

    valid = _webhook(api, body, sign(secret, now, raw))

    assert valid.status == 200, valid.text
    assert valid.json()["cadence_stopped"] is not None
    assert fetch(api, company, first["id"])["call_outcome"]["talk_seconds"] == 30


def test_webhook_for_another_companys_row_is_refused(api, make_company, ticker, fresh_simulator):
    secret = "s" * 32
    _, _, body = _dispatched_call(api, make_company, ticker, fresh_simulator, secret)
    other = make_company()
    body = {**body, "metadata": {**body["metadata"], "company_id": other.id}}
    raw = json.dumps(body).encode()

    reply = _webhook(api, body, sign(secret, int(time.time()), raw))

    assert reply.status == 401


def test_malformed_webhook_is_422(api):
    reply = _webhook(api, {"call_id": "x"}, "t=1,v1=00")

    assert reply.status == 422


def test_follow_up_claimed_after_a_conversation_is_skipped_even_if_the_webhook_raced(
    api, make_company, ticker, fresh_simulator
):
    from scheduled_comms import composition

    company = make_company()
    config_id = register_voice(api, company, fresh_simulator)
    first = schedule(api, company, cadence_body(config_id))
    ticker.at(soon(5))
    done = composition.dispatch_store().get(company.id, first["id"])
    # The outcome landed while the tick was still recording the call, so nothing was skipped then.
    talked = {"call_id": done.dispatched_external_id, "answered": True, "talk_seconds": 31, "end_reason": "completed"}
    assert composition.dispatch_store().update_if_status(
        done, done.model_copy(update={"call_outcome": talked}), done.status
    )
    queued = fetch(api, company, done.cadence_next_id)

    ticker.at(datetime.fromisoformat(queued["scheduled_for"]) + timedelta(seconds=1))

    skipped = fetch(api, company, queued["id"])
    assert skipped["status"] == "skipped"
    assert "spoke for 31s" in skipped["skip_reason"]
    assert len([c for c in fresh_simulator.calls() if c.metadata["communication_id"] == queued["id"]]) == 0


def test_follow_up_waits_while_the_previous_call_has_no_outcome(api, make_company, ticker, fresh_simulator):
    company = make_company()
    config_id = register_voice(api, company, fresh_simulator)
    body = cadence_body(config_id)
    body["payload"]["follow_ups"]["follow_up_delays"] = [0.05, 24]  # three minutes
    first = schedule(api, company, body)
    ticker.at(soon(5))
    queued_id = fetch(api, company, first["id"])
    rows = api.request("GET", f"{COLLECTION}?status=pending&channel=voice_call", company).json()["data"]
    queued = next(r for r in rows if r["cadence_id"] == first["id"])
    due = datetime.fromisoformat(queued["scheduled_for"])

    ticker.at(due + timedelta(seconds=1))

    held = fetch(api, company, queued["id"])
    assert queued_id["call_outcome"] is None
    assert held["status"] == "pending"
    waited = datetime.fromisoformat(held["scheduled_for"]) - (due + timedelta(seconds=1))
    assert timedelta(minutes=2) <= waited < timedelta(minutes=2, seconds=1)
    assert held["attempt_count"] == 0


def test_a_long_unanswered_call_does_not_stop_the_cadence(api, make_company, ticker, fresh_simulator):
    secret = "q" * 32
    _, _, body = _dispatched_call(api, make_company, ticker, fresh_simulator, secret)
    body = {**body, "answered": False, "talk_seconds": 45, "end_reason": "voicemail"}
    raw = json.dumps(body).encode()

    reply = _webhook(api, body, sign(secret, int(time.time()), raw))

    assert reply.status == 200
    assert reply.json()["cadence_stopped"] is None


def test_webhook_for_a_row_of_another_config_is_404(api, make_company, ticker, fresh_simulator):
    secret = "z" * 32
    company, _, body = _dispatched_call(api, make_company, ticker, fresh_simulator, secret)
    other_config = register_voice(api, company, fresh_simulator, webhook_secret=secret)
    body = {**body, "metadata": {**body["metadata"], "voice_agent_outbound_config_id": other_config}}
    raw = json.dumps(body).encode()

    reply = _webhook(api, body, sign(secret, int(time.time()), raw))

    assert reply.status == 404


def _signed(api, body: dict, secret: str):
    return _webhook(api, body, sign(secret, int(time.time()), json.dumps(body).encode()))


def test_an_outcome_for_a_row_not_yet_dialled_is_a_409_and_planted_nothing(api, make_company, ticker, fresh_simulator):
    secret = "p" * 32
    company = make_company()
    config_id = register_voice(api, company, fresh_simulator, webhook_secret=secret)
    pending = schedule(api, company, {**cadence_body(config_id), "scheduled_for": soon(3600).isoformat()})
    planted = {
        "call_id": "call-never-placed",
        "metadata": {
            "communication_id": pending["id"],
            "company_id": company.id,
            "voice_agent_outbound_config_id": config_id,
        },
        "answered": True,
        "talk_seconds": 300,
        "end_reason": "completed",
    }

    reply = _signed(api, planted, secret)

    assert reply.status == 409, reply.text
    assert fetch(api, company, pending["id"])["call_outcome"] is None


def test_an_outcome_must_name_the_call_that_was_placed(api, make_company, ticker, fresh_simulator):
    secret = "n" * 32
    company, first, body = _dispatched_call(api, make_company, ticker, fresh_simulator, secret)

    reply = _signed(api, {**body, "call_id": "someone-elses-call"}, secret)

    assert reply.status == 404, reply.text
    assert fetch(api, company, first["id"])["call_outcome"] is None


def test_the_same_outcome_again_changes_nothing_and_another_is_a_409(api, make_company, ticker, fresh_simulator):
    secret = "r" * 32
    company, first, body = _dispatched_call(api, make_company, ticker, fresh_simulator, secret)
    short = {**body, "talk_seconds": 2.5, "end_reason": "hung_up"}
    assert _signed(api, short, secret).status == 200
    stored = fetch(api, company, first["id"])

    replay = _signed(api, short, secret)
    different = _signed(api, body, secret)  # a long conversation, after the fact

    assert replay.status == 200, replay.text
    assert replay.json()["recorded"] is False and replay.json()["replayed"] is True
    assert different.status == 409, different.text
    after = fetch(api, company, first["id"])
    assert after["call_outcome"] == stored["call_outcome"]
    assert after["updated_at"] == stored["updated_at"]
    rows = api.request("GET", f"{COLLECTION}?limit=100", company).json()["data"]
    follow_ups = [row for row in rows if row["cadence_attempt"] == 2]
    assert [row["status"] for row in follow_ups] == ["pending"], "no conversation was planted after the fact"


@pytest.mark.parametrize(
    ("credits", "follow_up", "left"),
    [
        (5, ("pending", None), 3),  # one credit for the first call, one for the queued follow-up
        (1, ("skipped", "no credits left to queue this follow-up call"), 0),
    ],
    ids=["charged", "no-credit-left"],
)
def test_a_follow_up_call_spends_a_credit_when_queued_or_is_queued_skipped_without_one(
    api, make_company, ticker, fresh_simulator, credits, follow_up, left
):
    company = make_company(credits=credits)
    config_id = register_voice(api, company, fresh_simulator)
    first = schedule(api, company, cadence_body(config_id))

    ticker.at(soon(5))

    rows = api.request("GET", f"{COLLECTION}?limit=100", company).json()
    follow_ups = [(row["status"], row["skip_reason"]) for row in rows["data"] if row["cadence_attempt"] == 2]
    assert fetch(api, company, first["id"])["status"] == "dispatched", "the call that went out is recorded"
    assert follow_ups == [follow_up]
    assert rows["meta"]["credits_remaining"] == left
