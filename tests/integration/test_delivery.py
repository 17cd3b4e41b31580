"""Per-row delivery: at_least_once sends again after a crash between send and record; at_most_once does not."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

import pytest
from botocore.exceptions import ClientError
from scheduled_comms import composition
from scheduled_comms.models.domain import Channel, Delivery, SendResult, now_utc
from scheduled_comms_cli.outbox import sent_messages

from tests.integration.conftest import SimulatedCrash, soon
from tests.integration.test_create import COLLECTION, sms_body, voice_body
from tests.integration.test_dispatch import email_now, fetch, register_number, schedule

LEASE = timedelta(seconds=180)
# Tests that tick use tables of their own: another worker's tick would otherwise claim or take over their rows.


def due_row(api, company, channel: str, delivery: str | None) -> tuple[dict, str]:
    """A row due in a second, and the recipient its messages are found by."""
    extra = {"delivery": delivery} if delivery else {}
    if channel == "email":
        body = email_now(**extra)
        return schedule(api, company, body), body["payload"]["to_email"]
    # Numbers repeat across tests of the session; the message's own token does not.
    token = uuid.uuid4().hex
    body = sms_body(scheduled_for=soon(1).isoformat(), **extra)
    body["payload"].update(phone_number_id=register_number(api, company), message_body=f"Reminder {token}")
    return schedule(api, company, body), token


def outbox_for(key: str) -> list[dict]:
    """What the providers accepted for this test's row: its email recipient, or its SMS's token."""
    return [entry for entry in sent_messages([]) if key in entry["recipient"] or key in entry["excerpt"]]


def crash_after_the_first_send(monkeypatch, channel: str) -> list[str]:
    """The provider takes the first message, then the tick dies before recording it."""
    sender = composition.senders()._by_channel[Channel(channel)]
    real_send, crashed = sender.send, []

    def send(row):
        result = real_send(row)
        if not crashed:
            crashed.append(row.id)
            raise SimulatedCrash("after send, before its outcome was recorded")
        return result

    monkeypatch.setattr(sender, "send", send)
    return crashed


@pytest.mark.parametrize("channel", ["email", "sms"])
def test_at_least_once_sends_again_when_a_crash_followed_the_send(
    api, make_company, isolated_tables, ticker, monkeypatch, channel
):
    company = make_company()
    row, recipient = due_row(api, company, channel, "at_least_once")
    crashed = crash_after_the_first_send(monkeypatch, channel)
    moment = soon(5)
    with pytest.raises(SimulatedCrash):
        ticker.at(moment)
    assert crashed == [row["id"]]

    ticker.at(moment + LEASE + timedelta(seconds=1))

    data = fetch(api, company, row["id"])
    assert data["status"] == "dispatched"
    assert data["delivery"] == "at_least_once"
    assert len(outbox_for(recipient)) == 2, "the takeover sent it again"


@pytest.mark.parametrize("channel", ["email", "sms"])
def test_at_most_once_fails_outcome_unknown_when_a_crash_followed_the_send(
    api, make_company, isolated_tables, ticker, monkeypatch, channel
):
    company = make_company()
    row, recipient = due_row(api, company, channel, "at_most_once")
    crash_after_the_first_send(monkeypatch, channel)
    moment = soon(5)
    with pytest.raises(SimulatedCrash):
        ticker.at(moment)
    assert fetch(api, company, row["id"])["status"] == "dispatching"

    ticker.at(moment + LEASE + timedelta(seconds=1))

    data = fetch(api, company, row["id"])
    assert data["status"] == "failed"
    assert data["last_error"] == "outcome_unknown"
    assert data["attempt_count"] == 1, "the takeover made no attempt of its own"
    assert len(outbox_for(recipient)) == 1, "the provider got exactly one message"


def test_at_most_once_crash_before_the_send_still_sends_on_takeover(
    api, make_company, isolated_tables, ticker, monkeypatch
):
    company = make_company()
    row, recipient = due_row(api, company, "email", "at_most_once")
    store = composition.dispatch_store()
    real_claim = store.claim

    def claim_then_crash(*args):
        real_claim(*args)
        raise SimulatedCrash("after claim")

    monkeypatch.setattr(store, "claim", claim_then_crash)
    moment = soon(5)
    with pytest.raises(SimulatedCrash):
        ticker.at(moment)
    monkeypatch.undo()

    ticker.at(moment + LEASE + timedelta(seconds=1))

    data = fetch(api, company, row["id"])
    assert data["status"] == "dispatched"
    assert len(outbox_for(recipient)) == 1


def test_at_most_once_resends_after_a_recorded_retryable_failure(
    api, make_company, isolated_tables, ticker, monkeypatch
):
    company = make_company()
    row, recipient = due_row(api, company, "email", "at_most_once")
    sender = composition.senders()._by_channel[Channel.EMAIL]
    real_send, calls = sender.send, []

    def throttled_once(row):
        calls.append(row.id)
        return SendResult.retry("Throttling: slow down") if len(calls) == 1 else real_send(row)

    monkeypatch.setattr(sender, "send", throttled_once)
    ticker.at(soon(5))
    first = fetch(api, company, row["id"])
    assert (first["status"], first["last_error"]) == ("pending", "Throttling: slow down")

    ticker.at(datetime.fromisoformat(first["scheduled_for"]) + timedelta(seconds=1))

    data = fetch(api, company, row["id"])
    assert (data["status"], data["attempt_count"]) == ("dispatched", 2)
    assert len(calls) == 2
    assert len(outbox_for(recipient)) == 1


def test_at_most_once_is_not_sent_when_its_send_start_is_not_recorded(
    api, make_company, isolated_tables, ticker, monkeypatch
):
    company = make_company()
    row, recipient = due_row(api, company, "email", "at_most_once")
    store = composition.dispatch_store()
    real_transition, refused = store.transition, []

    def transition(current, updated, also_create=None, refund_credit=False):
        if updated.send_started_attempt is not None and not refused:
            refused.append(current.id)
            real_transition(current, updated, also_create, refund_credit)  # it lands, but its answer is lost
            raise ClientError({"Error": {"Code": "InternalServerError", "Message": "lost"}}, "UpdateItem")
        return real_transition(current, updated, also_create, refund_credit)

    monkeypatch.setattr(store, "transition", transition)
    ticker.at(soon(5))
    first = fetch(api, company, row["id"])
    assert refused == [row["id"]]
    assert first["status"] == "pending"
    assert outbox_for(recipient) == []

    ticker.at(datetime.fromisoformat(first["scheduled_for"]) + timedelta(seconds=1))

    data = fetch(api, company, row["id"])
    assert data["status"] == "dispatched", "the mark that landed unseen was removed with the release"
    assert len(outbox_for(recipient)) == 1


def test_delivery_defaults_to_at_least_once_and_is_stored(api, make_company):
    company = make_company()
    default = schedule(api, company, email_now())
    chosen = schedule(api, company, email_now(delivery="at_most_once"))

    assert default["delivery"] == "at_least_once"
    assert chosen["delivery"] == "at_most_once"
    assert fetch(api, company, chosen["id"])["delivery"] == "at_most_once"
    assert fetch(api, company, default["id"])["delivery"] == "at_least_once"


@pytest.mark.parametrize("value", ["exactly_once", "AT_MOST_ONCE", "", None, 1])
def test_an_unknown_delivery_is_422_naming_the_field(api, make_company, value):
    company = make_company()

    reply = api.request("POST", COLLECTION, company, email_now(delivery=value))

    assert reply.status == 422, reply.text
    assert [d["field"] for d in reply.json()["error"]["details"]] == ["delivery"]
    assert api.request("GET", COLLECTION, company).json()["data"] == []


def test_voice_accepts_at_most_once(api, make_company):
    company = make_company()
    body = voice_body(delivery="at_most_once")

    reply = api.request("POST", COLLECTION, company, body)

    assert reply.status == 201, reply.text
    assert reply.json()["data"]["delivery"] == "at_most_once"


def test_an_unknown_outcome_that_could_not_be_written_is_not_sent_again(
    api, make_company, isolated_tables, ticker, monkeypatch
):
    company = make_company()
    row, recipient = due_row(api, company, "email", "at_most_once")
    crash_after_the_first_send(monkeypatch, "email")
    moment = soon(5)
    with pytest.raises(SimulatedCrash):
        ticker.at(moment)
    store = composition.dispatch_store()
    real_transition, refused = store.transition, []

    def transition(current, updated, also_create=None, refund_credit=False):
        if updated.last_error == "outcome_unknown" and len(refused) < 3:
            refused.append(current.id)  # the tick tries three times, then puts the row back to pending
            raise ClientError({"Error": {"Code": "InternalServerError", "Message": "down"}}, "UpdateItem")
        return real_transition(current, updated, also_create, refund_credit)

    monkeypatch.setattr(store, "transition", transition)
    ticker.at(moment + LEASE + timedelta(seconds=1))
    released = fetch(api, company, row["id"])
    assert len(refused) == 3
    assert released["status"] == "pending"

    ticker.at(datetime.fromisoformat(released["scheduled_for"]) + timedelta(seconds=1))

    data = fetch(api, company, row["id"])
    assert (data["status"], data["last_error"]) == ("failed", "outcome_unknown")
    assert len(outbox_for(recipient)) == 1


def test_a_row_without_delivery_takes_the_company_default(api, make_company):
    company, other = make_company(), make_company()
    composition.directory().put_default_delivery(company.id, Delivery.AT_MOST_ONCE, now_utc())

    defaulted = schedule(api, company, email_now())
    chosen = schedule(api, company, email_now(delivery="at_least_once"))
    elsewhere = schedule(api, other, email_now())

    assert fetch(api, company, defaulted["id"])["delivery"] == "at_most_once"
    assert fetch(api, company, chosen["id"])["delivery"] == "at_least_once"
    assert fetch(api, other, elsewhere["id"])["delivery"] == "at_least_once"
