"""A campaign call the dispatch engine ends itself (no outcome webhook: the provider refused it, or its campaign
was cancelled) ends its contact too, failed or skipped with the reason, and frees its slot: the campaign's other
contacts go out and the campaign completes."""

from __future__ import annotations

import json
import time
from collections import Counter
from datetime import datetime, timedelta

import boto3
import pytest
from scheduled_comms import composition
from scheduled_comms.models.domain import ListFilters, Status
from scheduled_comms_cli.streams import StreamPump
from scheduled_comms_local.lambda_host import FunctionHost

from tests.integration.conftest import published
from tests.integration.test_campaign_running import campaign_calls
from tests.integration.test_dispatch import register_number, register_voice

pytestmark = pytest.mark.slow

BATCH_CALLS = "/v1/batch-calls"
ALL_DUE = datetime.fromisoformat("2027-03-01T22:00:00+00:00")


def scheduled_campaign(api, company, simulator, stack, contacts: int, cap: int, plan: bool = True, **settings) -> str:
    agent_id = register_voice(api, company, simulator)
    number_id = register_number(api, company)
    created = api.request(
        "POST",
        BATCH_CALLS,
        company,
        json_body={
            "name": "Ended by the engine",
            "agent_id": agent_id,
            "phone_number_ids": [number_id],
            "contact_source": "inline",
            "contacts": [{"phone_number": f"+1415888{i:04d}"} for i in range(contacts)],
            "schedule_type": "scheduled",
            "scheduled_at": "2027-03-01T15:00:00Z",
            "timezone": "America/New_York",
            "max_concurrent_calls": cap,
            **settings,
        },
    ).json()["data"]
    assert api.request("POST", f"{BATCH_CALLS}/{created['id']}/schedule", company).status == 202
    if plan:
        background_work(stack)
    return str(created["id"])


def background_work(stack) -> None:
    """What the campaigns' background function has to do (plans, wind-downs), done, as Lambda would deliver it."""
    planner = next(c for c in stack.stream_consumers() if c.function == "PlanBatchCallsFunction")
    StreamPump(stack, FunctionHost(stack), planner).drain()


def transitions_pump(stack) -> StreamPump:
    """The row-transitions consumer of the test's own table (the ticker's pump drains the shared one)."""
    consumer = next(c for c in stack.stream_consumers() if c.function == "PublishTransitionsFunction")
    return StreamPump(stack, FunctionHost(stack), consumer)


def bus_queue(stack) -> str:
    """An SQS queue subscribed to everything the test's own event bus carries."""
    sqs, events = boto3.client("sqs"), boto3.client("events")
    url = sqs.create_queue(QueueName=f"{stack.name}-events")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    bus = stack.environment()["EVENT_BUS_NAME"]
    events.put_rule(Name="everything", EventBusName=bus, EventPattern=json.dumps({"source": ["scheduled-comms"]}))
    events.put_targets(Rule="everything", EventBusName=bus, Targets=[{"Id": "queue", "Arn": arn}])
    return str(url)


def next_moment(company, moment: datetime) -> datetime:
    rows = composition.communication_store().list(company.id, ListFilters(status=Status.PENDING), 100, None)
    return max([moment, *(row.scheduled_for for row in rows.items)]) + timedelta(seconds=1)


def test_a_refused_call_fails_its_contact_frees_its_slot_and_the_campaign_completes(
    api, make_company, ticker, fresh_simulator, isolated_tables
):
    company = make_company(credits=10)
    campaign_id = scheduled_campaign(api, company, fresh_simulator, isolated_tables, contacts=3, cap=1)
    fresh_simulator.fail_next.append(400)  # the first call placed is refused for good: the engine fails its row

    transitions, queue = transitions_pump(isolated_tables), bus_queue(isolated_tables)
    ended, moment = set(), ALL_DUE
    for _ in range(8):
        ticker.at(moment)
        transitions.drain()  # the refused row's record among them
        for call in campaign_calls(fresh_simulator, campaign_id):
            if call.call_id not in ended:
                assert fresh_simulator.end(call.call_id, "conversation", 30) == 200
                ended.add(call.call_id)
        moment = next_moment(company, moment)
    transitions.drain()

    campaign = api.request("GET", f"{BATCH_CALLS}/{campaign_id}", company).json()["data"]
    contacts = api.request("GET", f"{BATCH_CALLS}/{campaign_id}/contacts", company).json()["data"]
    assert Counter(c["status"] for c in contacts) == Counter({"completed": 2, "failed": 1})
    failed = next(c for c in contacts if c["status"] == "failed")
    assert "400" in failed["last_error"]
    assert len(ended) == 2, "the slot the refused call held was freed for the others"
    assert campaign["status"] == "completed"
    assert campaign["contacts"]["by_status"]["failed"] == 1
    assert campaign["contacts"]["by_status"]["completed"] == 2
    assert campaign["contacts"]["by_status"].get("in_progress", 0) == 0
    # On the bus: each contact's outcome once, and the campaign's completion once.
    events = [(e["detail-type"], e["detail"]) for e in published(queue) if e["detail-type"].startswith("campaign.")]
    outcomes = [detail for kind, detail in events if kind == "campaign.contact_outcome"]
    assert sorted(d["contact_index"] for d in outcomes) == [0, 1, 2]
    assert Counter(d["status"] for d in outcomes) == Counter({"completed": 2, "failed": 1})
    assert all(d["outcome"]["talk_seconds"] == 30 for d in outcomes if d["status"] == "completed")
    assert all(d["batch_call_id"] == campaign_id and "phone_number" not in d for d in outcomes)
    completed = [detail for kind, detail in events if kind == "campaign.completed"]
    assert len(completed) == 1 and completed[0]["contacts"] == {"completed": 2, "failed": 1}


def test_a_cancelled_campaigns_due_calls_cancel_their_contacts_before_its_wind_down_does(
    api, make_company, ticker, fresh_simulator, isolated_tables
):
    company = make_company(credits=10)
    campaign_id = scheduled_campaign(api, company, fresh_simulator, isolated_tables, contacts=2, cap=2)
    assert api.request("POST", f"{BATCH_CALLS}/{campaign_id}/cancel", company).status == 200

    ticker.at(ALL_DUE)  # before the background function has wound the campaign down: the gate skips the calls
    transitions_pump(isolated_tables).drain()

    contacts = api.request("GET", f"{BATCH_CALLS}/{campaign_id}/contacts", company).json()["data"]
    assert [c["status"] for c in contacts] == ["cancelled", "cancelled"]
    assert all("cancelled" in c["last_error"] for c in contacts)
    assert campaign_calls(fresh_simulator, campaign_id) == []
    campaign = api.request("GET", f"{BATCH_CALLS}/{campaign_id}", company).json()["data"]
    assert campaign["contacts"]["by_status"]["cancelled"] == 2
    assert campaign["contacts"]["by_status"].get("scheduled", 0) == 0


def test_cancelling_a_campaign_cancels_its_calls_not_yet_placed_at_once_and_the_call_going_on_ends(
    api, make_company, ticker, fresh_simulator, isolated_tables
):
    company = make_company(credits=10)
    campaign_id = scheduled_campaign(api, company, fresh_simulator, isolated_tables, contacts=3, cap=1)
    ticker.at(ALL_DUE)  # one call placed; the cap holds the other two
    [call] = campaign_calls(fresh_simulator, campaign_id)

    assert api.request("POST", f"{BATCH_CALLS}/{campaign_id}/cancel", company).status == 200
    background_work(isolated_tables)  # the wind-down, started by the cancel
    transitions_pump(isolated_tables).drain()

    contacts = api.request("GET", f"{BATCH_CALLS}/{campaign_id}/contacts", company).json()["data"]
    by_number = {c["phone_number"]: c["status"] for c in contacts}
    assert by_number.pop(call.to_number) == "in_progress"
    assert list(by_number.values()) == ["cancelled", "cancelled"]
    rows = composition.communication_store().list(company.id, ListFilters(), 100, None).items
    assert Counter(row.status for row in rows) == Counter({Status.CANCELLED: 2, Status.DISPATCHED: 1})
    stored = composition.campaign_store().get(company.id, campaign_id, consistent=True)
    assert stored.wound_down_at is not None

    assert fresh_simulator.end(call.call_id, "conversation", 30) == 200  # the call going on ends as usual
    ticker.at(ALL_DUE + timedelta(hours=1))

    campaign = api.request("GET", f"{BATCH_CALLS}/{campaign_id}", company).json()["data"]
    assert campaign["status"] == "cancelled"
    assert {k: v for k, v in campaign["contacts"]["by_status"].items() if v} == {"completed": 1, "cancelled": 2}
    assert len(campaign_calls(fresh_simulator, campaign_id)) == 1
    assert campaign["credits_returned"] == 2
    assert composition.credit_ledger().balance(company.id, consistent=True) == 9


def test_a_campaign_cancelled_before_it_was_planned_cancels_every_contact_and_writes_no_call(
    api, make_company, fresh_simulator, isolated_tables
):
    company = make_company(credits=10)
    campaign_id = scheduled_campaign(api, company, fresh_simulator, isolated_tables, contacts=3, cap=1, plan=False)
    assert api.request("POST", f"{BATCH_CALLS}/{campaign_id}/cancel", company).status == 200

    background_work(isolated_tables)  # the plan's record finds the campaign cancelled: it winds it down
    background_work(isolated_tables)  # and again (a replayed stream): nothing moves twice

    contacts = api.request("GET", f"{BATCH_CALLS}/{campaign_id}/contacts", company).json()["data"]
    assert [(c["status"], c["last_error"]) for c in contacts] == [("cancelled", "its batch call was cancelled")] * 3
    assert composition.communication_store().list(company.id, ListFilters(), 100, None).items == []
    campaign = api.request("GET", f"{BATCH_CALLS}/{campaign_id}", company).json()["data"]
    assert {k: v for k, v in campaign["contacts"]["by_status"].items() if v} == {"cancelled": 3}
    assert composition.credit_ledger().balance(company.id, consistent=True) == 10


def test_a_refused_call_is_retried_when_the_policy_retries_failed_calls(
    api, make_company, ticker, fresh_simulator, isolated_tables
):
    company = make_company(credits=10)
    retry = {"max_attempts": 2, "retry_after_minutes": 30, "retry_on": ["failed"]}
    campaign_id = scheduled_campaign(api, company, fresh_simulator, isolated_tables, contacts=1, cap=1, retry=retry)
    fresh_simulator.fail_next.append(400)  # the first call is refused for good: the engine fails its row

    transitions, moment = transitions_pump(isolated_tables), ALL_DUE
    for _ in range(4):
        ticker.at(moment)
        transitions.drain()
        for call in campaign_calls(fresh_simulator, campaign_id):
            fresh_simulator.end(call.call_id, "conversation", 30)
        moment = next_moment(company, moment)

    [contact] = api.request("GET", f"{BATCH_CALLS}/{campaign_id}/contacts", company).json()["data"]
    assert (contact["status"], contact["attempts"]) == ("completed", 2)
    assert contact["outcome"]["talk_seconds"] == 30
    rows = composition.communication_store().list(company.id, ListFilters(), 100, None).items
    assert sorted(row.status for row in rows) == [Status.DISPATCHED, Status.FAILED]
    campaign = api.request("GET", f"{BATCH_CALLS}/{campaign_id}", company).json()["data"]
    assert campaign["status"] == "completed"


def test_a_retry_counts_against_its_days_cap(api, make_company, ticker, fresh_simulator, isolated_tables):
    company = make_company(credits=10)
    retry = {"max_attempts": 2, "retry_after_minutes": 30, "retry_on": ["no_answer"]}
    # 08:00 in New York on Monday: the two contacts take Monday's two slots, 09:00 and 13:00.
    campaign_id = scheduled_campaign(
        api,
        company,
        fresh_simulator,
        isolated_tables,
        contacts=2,
        cap=2,
        retry=retry,
        max_calls_per_day=2,
        scheduled_at="2027-03-01T13:00:00Z",
    )
    ticker.at(datetime.fromisoformat("2027-03-01T14:00:01+00:00"))
    [call] = campaign_calls(fresh_simulator, campaign_id)
    assert fresh_simulator.end(call.call_id, "no_answer") == 200

    pending = composition.communication_store().list(company.id, ListFilters(status=Status.PENDING), 100, None)
    slots = sorted(row.scheduled_for for row in pending.items)
    # Monday's 13:00 is taken by the second contact: the retry goes to Tuesday's first slot, not beside it.
    assert slots == [
        datetime.fromisoformat("2027-03-01T18:00:00+00:00"),
        datetime.fromisoformat("2027-03-02T14:00:00+00:00"),
    ]


def test_the_retry_policy_calls_a_contact_again_after_no_answer_inside_the_window_until_its_attempts_run_out(
    api, make_company, ticker, fresh_simulator, isolated_tables
):
    company = make_company(credits=10)
    retry = {"max_attempts": 3, "retry_after_minutes": 30, "retry_on": ["no_answer", "voicemail"]}
    campaign_id = scheduled_campaign(api, company, fresh_simulator, isolated_tables, contacts=2, cap=2, retry=retry)
    outcomes = {"+14158880000": ["no_answer", "voicemail", "no_answer"], "+14158880001": ["conversation"]}

    ended, moment, retry_slots = set(), ALL_DUE, []
    for round_number in range(6):
        ticker.at(moment)
        if round_number == 0:  # both first calls are going on
            live = api.request("GET", f"{BATCH_CALLS}/{campaign_id}", company).json()["data"]["live"]
            stored = composition.campaign_store().get(company.id, campaign_id)
            assert live["calls_in_flight"] == 2
            assert composition.campaign_store().live(stored, ALL_DUE).calls_placed_today == 2
        for call in campaign_calls(fresh_simulator, campaign_id):
            if call.call_id not in ended:
                assert fresh_simulator.end(call.call_id, outcomes[call.to_number].pop(0), 40) == 200
                ended.add(call.call_id)
        pending = composition.communication_store().list(company.id, ListFilters(status=Status.PENDING), 100, None)
        retry_slots += [row.scheduled_for for row in pending.items if row.scheduled_for not in retry_slots]
        moment = next_moment(company, moment)

    calls = Counter(call.to_number for call in campaign_calls(fresh_simulator, campaign_id))
    contacts = api.request("GET", f"{BATCH_CALLS}/{campaign_id}/contacts", company).json()["data"]
    campaign = api.request("GET", f"{BATCH_CALLS}/{campaign_id}", company).json()["data"]
    assert calls == Counter({"+14158880000": 3, "+14158880001": 1}), "a conversation is never retried"
    assert [(c["status"], c["attempts"]) for c in contacts] == [("completed", 3), ("completed", 1)]
    assert contacts[0]["outcome"]["end_reason"] == "no_answer"
    # Called at 17:00 New York (the window's end): the first retry waits for the next window's first slot; the
    # second goes 30 minutes after the first retry was placed, at the first slot of the even spread from then.
    first, second = retry_slots
    assert first == datetime.fromisoformat("2027-03-02T14:00:00+00:00")  # 09:00 in New York, the default start
    spacing = timedelta(hours=8) / 100  # the default window (09:00-17:00) over the default max_calls_per_day
    assert first + timedelta(minutes=30) <= second <= first + timedelta(minutes=30, seconds=30) + spacing
    assert campaign["status"] == "completed"
    stored = composition.campaign_store().get(company.id, campaign_id, consistent=True)
    assert stored.contacts_dialled == 2, "a retry is covered by its contact's credit"
    analytics = api.request("GET", f"{BATCH_CALLS}/{campaign_id}/analytics", company)
    assert analytics.status == 200, analytics.text
    assert analytics.json()["data"] == {
        "batch_call_id": campaign_id,
        "status": "completed",
        "contacts": {
            "total": 2,
            "by_status": {**dict.fromkeys(campaign["contacts"]["by_status"], 0), "completed": 2},
        },
        "outcomes": {"conversation": 1, "voicemail": 1, "no_answer": 2, "busy": 0, "failed": 0},
        "calls_with_outcome": 4,
        "calls_placed": 4,
        "connect_rate": 0.25,
        "conversation_seconds": {"total": 40.0, "mean": 40.0, "p50": 45.0},
        "calls_per_day": [{"date": "2027-03-01", "calls": 2}, {"date": "2027-03-02", "calls": 2}],
        "credits_spent": 2,
    }
    live = api.request("GET", f"{BATCH_CALLS}/{campaign_id}", company).json()["data"]["live"]
    assert live == {"calls_placed_today": 0, "calls_in_flight": 0, "next_due_at": None}


def test_the_simulator_answers_campaign_calls_by_its_outcome_mix(
    api, make_company, ticker, fresh_simulator, isolated_tables
):
    from scheduled_comms_cli.voice_simulator import OutcomeMix

    company = make_company(credits=10)
    campaign_id = scheduled_campaign(api, company, fresh_simulator, isolated_tables, contacts=2, cap=2)
    fresh_simulator.campaign_outcomes = OutcomeMix.parse("voicemail=1")

    ticker.at(ALL_DUE)
    for _ in range(100):  # the simulator ends each call half a second after placing it
        contacts = api.request("GET", f"{BATCH_CALLS}/{campaign_id}/contacts", company).json()["data"]
        if all(c["status"] == "completed" for c in contacts):
            break
        time.sleep(0.1)

    assert [(c["status"], c["outcome"]["end_reason"]) for c in contacts] == [("completed", "voicemail")] * 2
    analytics = api.request("GET", f"{BATCH_CALLS}/{campaign_id}/analytics", company).json()["data"]
    assert analytics["outcomes"]["voicemail"] == 2 and analytics["connect_rate"] == 0.0


def test_a_suppressed_callee_is_skipped_and_a_cancel_by_number_cancels_a_contact(
    api, make_company, ticker, fresh_simulator, isolated_tables
):
    company = make_company(credits=10)
    campaign_id = scheduled_campaign(api, company, fresh_simulator, isolated_tables, contacts=3, cap=3)
    kept_out, cancelled = "+14158880000", "+14158880001"
    assert api.request("PUT", f"/v1/do-not-contact/voice/{kept_out.replace('+', '%2B')}", company, {}).status == 200
    reply = api.request("POST", "/v1/scheduled-communications/cancel", company, {"to_number": cancelled})
    assert reply.status == 200 and reply.json()["data"]["cancelled"] == 1

    ticker.at(ALL_DUE)
    transitions_pump(isolated_tables).drain()

    contacts = api.request("GET", f"{BATCH_CALLS}/{campaign_id}/contacts", company).json()["data"]
    by_number = {c["phone_number"]: c for c in contacts}
    assert by_number[kept_out]["status"] == "skipped" and by_number[kept_out]["last_error"] == "do_not_contact"
    assert by_number[cancelled]["status"] == "cancelled"
    [call] = campaign_calls(fresh_simulator, campaign_id)
    assert call.to_number == "+14158880002"

    assert fresh_simulator.end(call.call_id, "conversation", 30) == 200
    # Completed: the credits of the two contacts never dialled come back with it.
    campaign = api.request("GET", f"{BATCH_CALLS}/{campaign_id}", company).json()["data"]
    assert (campaign["status"], campaign["credits_returned"]) == ("completed", 2)
    assert composition.credit_ledger().balance(company.id, consistent=True) == 9
