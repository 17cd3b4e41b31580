"""A campaign running under its concurrency cap: ten overlapping ticks never have more calls in flight than
max_concurrent_calls, a call's outcome webhook frees its slot and completes its contact, a contact held by the
cap goes out later, and the campaign completes when every contact has."""

from __future__ import annotations

from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta

import pytest
from scheduled_comms import composition
from scheduled_comms.models.domain import ListFilters, Status
from scheduled_comms_cli.streams import StreamPump
from scheduled_comms_local.lambda_host import FunctionHost, scheduled_event

from tests.integration.test_dispatch import register_number, register_voice

pytestmark = pytest.mark.slow

BATCH_CALLS = "/v1/batch-calls"
CONTACTS = 12
CAP = 3
TICKS = 10
# The end of the first planned day (a Monday, 17:00 in New York): every contact of the campaign is due.
ALL_DUE = datetime.fromisoformat("2027-03-01T22:00:00+00:00")


def campaign_calls(simulator, campaign_id):
    return [call for call in simulator.calls() if call.metadata.get("batch_call_id") == campaign_id]


def overlapping_ticks(ticker, moment):
    events = [scheduled_event(moment, single_pass=True) for _ in range(TICKS)]
    with ThreadPoolExecutor(max_workers=TICKS) as pool:
        list(pool.map(lambda event: ticker.run(event).summary(), events))  # each tick with its workers
    ticker.pump.drain()


def test_the_cap_holds_under_overlapping_ticks_and_the_campaign_completes(
    api, make_company, ticker, fresh_simulator, isolated_tables
):
    company = make_company(credits=100)
    agent_id = register_voice(api, company, fresh_simulator)
    number_id = register_number(api, company)
    created = api.request(
        "POST",
        BATCH_CALLS,
        company,
        json_body={
            "name": "Capped",
            "agent_id": agent_id,
            "phone_number_ids": [number_id],
            "contact_source": "inline",
            "contacts": [{"phone_number": f"+1415777{i:04d}"} for i in range(CONTACTS)],
            "schedule_type": "scheduled",
            "scheduled_at": "2027-03-01T15:00:00Z",
            "timezone": "America/New_York",
            "start_time": "10:00",
            "end_time": "17:00",
            "max_calls_per_day": 120,
            "max_concurrent_calls": CAP,
        },
    ).json()["data"]
    campaign_id = created["id"]
    assert api.request("POST", f"{BATCH_CALLS}/{campaign_id}/schedule", company).status == 202
    planner = next(c for c in isolated_tables.stream_consumers() if c.function == "PlanBatchCallsFunction")
    StreamPump(isolated_tables, FunctionHost(isolated_tables), planner).drain()

    most_in_flight, ended, moment = 0, set(), ALL_DUE
    for _ in range(CONTACTS):  # each round: overlapping ticks, then the calls in flight end
        overlapping_ticks(ticker, moment)
        calls = campaign_calls(fresh_simulator, campaign_id)
        in_flight = [call for call in calls if call.call_id not in ended]
        most_in_flight = max(most_in_flight, len(in_flight))
        if not in_flight:
            break
        for call in in_flight:
            assert fresh_simulator.end(call.call_id, "conversation", 42) == 200
            ended.add(call.call_id)
        # The next ticks run once every held call is due again (a tick's clock runs on while it works).
        rows = composition.communication_store().list(company.id, ListFilters(status=Status.PENDING), 100, None)
        moment = max([moment, *(row.scheduled_for for row in rows.items)]) + timedelta(seconds=1)

    calls = campaign_calls(fresh_simulator, campaign_id)
    campaign = api.request("GET", f"{BATCH_CALLS}/{campaign_id}", company).json()["data"]
    contacts = api.request("GET", f"{BATCH_CALLS}/{campaign_id}/contacts?limit=100", company).json()["data"]
    assert most_in_flight == CAP
    assert Counter(call.to_number for call in calls) == Counter({f"+1415777{i:04d}": 1 for i in range(CONTACTS)})
    assert campaign["status"] == "completed"
    assert campaign["contacts"]["by_status"]["completed"] == CONTACTS
    assert all(c["status"] == "completed" and c["attempts"] == 1 for c in contacts)
    assert contacts[0]["outcome"]["talk_seconds"] == 42 and contacts[0]["outcome"]["answered"] is True
    rows = composition.communication_store().list(company.id, ListFilters(), 100, None).items
    assert Counter(row.status for row in rows) == Counter({Status.DISPATCHED: CONTACTS})
    cancelled = api.request("POST", f"{BATCH_CALLS}/{campaign_id}/cancel", company)
    assert cancelled.status == 409 and cancelled.json()["error"]["details"][0]["message"] == "is completed"


def test_a_patch_redistributing_while_ticks_run_dials_no_contact_twice_and_loses_none(
    api, make_company, ticker, fresh_simulator, isolated_tables
):
    import threading

    company = make_company(credits=100)
    agent_id = register_voice(api, company, fresh_simulator)
    number_id = register_number(api, company)
    contacts = 16
    created = api.request(
        "POST",
        BATCH_CALLS,
        company,
        json_body={
            "name": "Redistributed",
            "agent_id": agent_id,
            "phone_number_ids": [number_id],
            "contact_source": "inline",
            "contacts": [{"phone_number": f"+1415666{i:04d}"} for i in range(contacts)],
            "schedule_type": "scheduled",
            "scheduled_at": "2027-03-01T15:00:00Z",
            "timezone": "America/New_York",
            "start_time": "10:00",
            "end_time": "17:00",
            "max_calls_per_day": 120,
            "max_concurrent_calls": CAP,
        },
    ).json()["data"]
    campaign_id = created["id"]
    assert api.request("POST", f"{BATCH_CALLS}/{campaign_id}/schedule", company).status == 202
    planner_mapping = next(c for c in isolated_tables.stream_consumers() if c.function == "PlanBatchCallsFunction")
    planner = StreamPump(isolated_tables, FunctionHost(isolated_tables), planner_mapping)
    planner.drain()

    # By Friday night every slot of the new schedule (four a day, Monday to Friday) is due as well.
    friday_night = datetime.fromisoformat("2027-03-05T23:00:00+00:00")
    first_round_done, patched = threading.Event(), {}

    def redistribute():
        first_round_done.wait(timeout=120)
        reply = api.request(
            "PATCH",
            f"{BATCH_CALLS}/{campaign_id}",
            company,
            json_body={"start_time": "09:30", "end_time": "16:30", "max_calls_per_day": 4},
        )
        patched["status"] = reply.status
        patched["campaign_status"] = reply.json()["data"]["status"]
        planner.drain()  # the redistribution, while the ticks go on

    ended, moment = set(), friday_night
    worker = threading.Thread(target=redistribute)
    worker.start()
    for _ in range(4 * contacts):
        overlapping_ticks(ticker, moment)
        in_flight = [c for c in campaign_calls(fresh_simulator, campaign_id) if c.call_id not in ended]
        for call in in_flight:
            assert fresh_simulator.end(call.call_id, "conversation", 5) == 200
            ended.add(call.call_id)
        first_round_done.set()
        if len(ended) == contacts and not worker.is_alive():
            break
        rows = composition.communication_store().list(company.id, ListFilters(status=Status.PENDING), 100, None)
        moment = max([moment, *(row.scheduled_for for row in rows.items)]) + timedelta(seconds=1)
    worker.join(timeout=120)

    calls = campaign_calls(fresh_simulator, campaign_id)
    campaign = api.request("GET", f"{BATCH_CALLS}/{campaign_id}", company).json()["data"]
    listed = api.request("GET", f"{BATCH_CALLS}/{campaign_id}/contacts?limit=100", company).json()["data"]
    assert patched == {"status": 200, "campaign_status": "scheduling"}
    dialled = Counter(call.to_number for call in calls)
    assert [n for n, times in dialled.items() if times > 1] == [], "no contact dialled twice"
    assert set(dialled) == {f"+1415666{i:04d}" for i in range(contacts)}, "no contact lost"
    assert campaign["status"] == "completed" and campaign["max_calls_per_day"] == 4
    assert [c["status"] for c in listed] == ["completed"] * contacts
    moved = [c for c in listed if c["scheduled_at"] >= "2027-03-02"]
    assert moved, "contacts not yet dialled were redistributed over the following days (four a day)"
    assert all(
        Counter(c["scheduled_at"][:10] for c in moved)[day] <= 4 for day in {c["scheduled_at"][:10] for c in moved}
    )
