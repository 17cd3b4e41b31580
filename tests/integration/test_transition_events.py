"""Transitions reach the bus from the table's stream: after a crash between a write and any publish,
once per stream record when the bus refuses some, and through the on-failure queue when it never takes one."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest
from scheduled_comms import composition
from scheduled_comms.models.domain import Status
from scheduled_comms_local.lambda_host import FunctionHost

from tests.conftest import load_event
from tests.integration.conftest import SimulatedCrash, published, soon
from tests.integration.conftest import events_queue as _events_queue  # noqa: F401
from tests.integration.test_create import COLLECTION
from tests.integration.test_dispatch import email_now, fetch, schedule


def detail_types(queue_url: str, row_ids: list[str]) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {row_id: [] for row_id in row_ids}
    for event in published(queue_url):
        if event["detail"]["id"] in found:
            found[event["detail"]["id"]].append(event["detail-type"])
    return found


def refuse_events_of(monkeypatch: pytest.MonkeyPatch, row_ids: set[str], times: int | None) -> list[str]:
    """EventBridge refuses the entries of ``row_ids`` (``times`` attempts each, or always); returns the refusals."""
    client = composition.events()._client
    real_put = client.put_events
    refusals: list[str] = []

    def put_events(Entries: list[dict[str, Any]]) -> dict[str, Any]:
        refused = []
        for entry in Entries:
            row_id = json.loads(entry["Detail"])["id"]
            refuse = row_id in row_ids and (times is None or refusals.count(row_id) < times)
            if refuse:
                refusals.append(row_id)
            refused.append(refuse)
        accepted = [entry for entry, no in zip(Entries, refused, strict=True) if not no]
        answers = iter(real_put(Entries=accepted)["Entries"] if accepted else [])
        entries = [{"ErrorCode": "InternalFailure"} if no else next(answers) for no in refused]
        return {"FailedEntryCount": sum(refused), "Entries": entries}

    monkeypatch.setattr(client, "put_events", put_events)
    return refusals


def test_a_tick_that_dies_right_after_its_write_still_gets_the_event_out(
    api, make_company, ticker, events_queue, monkeypatch
):
    company = make_company()
    row = schedule(api, company, email_now())
    published(events_queue)
    store = composition.dispatch_store()
    real_transition = store.transition

    def write_then_die(current: Any, updated: Any, also_create: Any = None, refund_credit: bool = False) -> bool:
        recorded = real_transition(current, updated, also_create, refund_credit)
        if current.id == row["id"]:
            raise SimulatedCrash("after the write, before anything else")
        return recorded

    monkeypatch.setattr(store, "transition", write_then_die)

    with pytest.raises(SimulatedCrash):
        ticker.at(soon(5))

    assert fetch(api, company, row["id"])["status"] == "dispatched"
    assert detail_types(events_queue, [row["id"]]) == {row["id"]: ["ScheduledCommunication.Dispatched"]}


def test_a_cancel_that_dies_right_after_its_write_still_gets_the_event_out(
    api, make_company, ticker, events_queue, monkeypatch
):
    company = make_company()
    row = schedule(api, company, email_now(scheduled_for=soon(3600).isoformat()))
    published(events_queue)
    store = composition.communication_store()
    real_cancel = store.cancel_pending

    def cancel_then_die(current: Any, now: Any) -> Any:
        real_cancel(current, now)
        raise SimulatedCrash("after the write, before the response")

    monkeypatch.setattr(store, "cancel_pending", cancel_then_die)

    with pytest.raises(SimulatedCrash):
        api.request("DELETE", f"{COLLECTION}/{row['id']}", company)
    ticker.pump.drain()

    assert fetch(api, company, row["id"])["status"] == "cancelled"
    assert detail_types(events_queue, [row["id"]]) == {row["id"]: ["ScheduledCommunication.Cancelled"]}


def test_writes_that_are_no_arrival_in_a_terminal_status_publish_nothing(api, make_company, ticker, events_queue):
    company = make_company()
    row = schedule(api, company, email_now())
    ticker.at(soon(5))
    published(events_queue)
    store = composition.dispatch_store()
    sent = store.get(company.id, row["id"])
    assert sent is not None and sent.status is Status.DISPATCHED
    # What the voice webhook does: an outcome recorded on a row already sent.
    assert store.update_if_status(sent, sent.model_copy(update={"call_outcome": {"answered": True}}), sent.status)
    pending = schedule(api, company, email_now(scheduled_for=soon(3600).isoformat()))

    assert ticker.pump.drain() == 0, "the filter criteria keep these records from the consumer"
    assert detail_types(events_queue, [row["id"], pending["id"]]) == {row["id"]: [], pending["id"]: []}


def test_each_record_is_published_once_when_the_bus_refuses_one_of_a_batch(
    api, make_company, ticker, events_queue, monkeypatch
):
    company = make_company()
    first, second = (schedule(api, company, email_now(scheduled_for=soon(3600).isoformat())) for _ in range(2))
    published(events_queue)
    ticker.pump.drain()
    # Two attempts: the publisher's own retry is refused too, so the record is reported failed.
    refusals = refuse_events_of(monkeypatch, {first["id"]}, times=2)
    for row in (first, second):  # in this order on the stream: the refused record comes first
        assert api.request("DELETE", f"{COLLECTION}/{row['id']}", company).status == 204
    invocations = ticker.pump.invocations

    ticker.pump.drain()

    assert refusals == [first["id"]] * 2
    assert ticker.pump.invocations - invocations >= 2, "the batch came back from its failed record"
    assert detail_types(events_queue, [first["id"], second["id"]]) == {
        first["id"]: ["ScheduledCommunication.Cancelled"],
        second["id"]: ["ScheduledCommunication.Cancelled"],
    }


def test_a_record_the_bus_never_takes_ends_in_the_on_failure_queue_and_the_rest_go_out(
    api, make_company, stack, ticker, events_queue, monkeypatch
):
    company = make_company()
    doomed, fine = (schedule(api, company, email_now(scheduled_for=soon(3600).isoformat())) for _ in range(2))
    published(events_queue)
    ticker.pump.drain()
    refuse_events_of(monkeypatch, {doomed["id"]}, times=None)
    sqs = boto3.client("sqs")
    queue_url = sqs.create_queue(QueueName=stack.physical_name("TransitionsDeadLetterQueue"))["QueueUrl"]
    sqs.purge_queue(QueueUrl=queue_url)
    for row in (doomed, fine):
        assert api.request("DELETE", f"{COLLECTION}/{row['id']}", company).status == 204

    ticker.pump.drain()

    messages = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get("Messages", [])
    assert [json.loads(m["Body"])["requestContext"]["condition"] for m in messages] == ["RetryAttemptsExhausted"]
    assert json.loads(messages[0]["Body"])["DDBStreamBatchInfo"]["batchSize"] == 1
    assert detail_types(events_queue, [doomed["id"], fine["id"]]) == {
        doomed["id"]: [],
        fine["id"]: ["ScheduledCommunication.Cancelled"],
    }
    assert fetch(api, company, doomed["id"])["status"] == "cancelled", "the row itself is never lost"


def test_the_sample_stream_batch_publishes_each_transition_and_reports_no_failure(stack, events_queue):
    event = load_event("publish_transitions.json")
    ids = [record["dynamodb"]["Keys"]["sk"]["S"].removeprefix("SC#") for record in event["Records"]]
    published(events_queue)

    response = FunctionHost(stack).invoke("PublishTransitionsFunction", event)

    assert response == {"batchItemFailures": []}
    events = {e["detail"]["id"]: e for e in published(events_queue) if e["detail"]["id"] in ids}
    assert {row_id: events[row_id]["detail-type"] for row_id in ids} == {
        ids[0]: "ScheduledCommunication.Cancelled",
        ids[1]: "ScheduledCommunication.Dispatched",
    }
    assert events[ids[1]]["detail"]["dispatched_external_id"] == "0100018c-ses-message-id"
    assert "to_email" not in events[ids[0]]["detail"]
