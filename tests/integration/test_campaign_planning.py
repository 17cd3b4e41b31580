"""The planner in the background: scheduling hands a campaign to the planner (the table's stream), which gives
every contact its slot as an ordinary voice-call row, resumes after a crash with no duplicate and no lost
contact, and steps aside when the campaign is paused."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from scheduled_comms import composition
from scheduled_comms.adapters.dynamodb.items import (
    CAMPAIGN_PREFIX,
    contact_list_partition,
    contact_to_item,
    row_to_item,
)
from scheduled_comms.logic.campaigns.planning import plan_calls
from scheduled_comms.logic.campaigns.scheduling import plan_campaign, wind_down_campaign
from scheduled_comms.models.campaigns import CampaignStatus
from scheduled_comms.models.domain import Channel, ListFilters, Source, Status
from scheduled_comms_cli.streams import StreamPump
from scheduled_comms_local.lambda_host import FunctionHost

from tests.conftest import PHONE_NUMBER_ID, VOICE_CONFIG_ID
from tests.integration.conftest import SimulatedCrash

BATCH_CALLS = "/v1/batch-calls"
NEW_YORK = ZoneInfo("America/New_York")
# A Monday, long enough ahead that "now" never moves the plan's start.
START = "2027-03-01T14:30:00Z"


@pytest.fixture(scope="module")
def planner(stack):
    """The planner's event source mapping: ``drain`` delivers what the stream holds, as Lambda would."""
    consumer = next(c for c in stack.stream_consumers() if c.function == "PlanBatchCallsFunction")
    pump = StreamPump(stack, FunctionHost(stack), consumer)
    pump.drain()  # what earlier tests left in the stream
    return pump


@pytest.fixture
def company(make_company):
    return make_company(credits=1_000)


def body(count: int, **overrides):
    return {
        "name": "Renewals",
        "agent_id": VOICE_CONFIG_ID,
        "phone_number_ids": [PHONE_NUMBER_ID],
        "contact_source": "inline",
        "contacts": [{"phone_number": f"+1415555{i:04d}", "name": f"P{i}", "seat": i} for i in range(count)],
        "schedule_type": "scheduled",
        "scheduled_at": START,
        "timezone": "America/New_York",
        "start_time": "10:00",
        "end_time": "17:00",
        "working_days": [1, 2, 3, 4, 5],
        "max_calls_per_day": 120,
        "max_concurrent_calls": 8,
        **overrides,
    }


def scheduled_campaign(api, company, count: int, **overrides) -> str:
    created = api.request("POST", BATCH_CALLS, company, json_body=body(count, **overrides))
    assert created.status == 201, created.text
    campaign_id = created.json()["data"]["id"]
    reply = api.request("POST", f"{BATCH_CALLS}/{campaign_id}/schedule", company)
    assert reply.status == 202, reply.text
    return campaign_id


def all_contacts(company, campaign_id):
    partition = contact_list_partition(CAMPAIGN_PREFIX, company.id, campaign_id)
    return list(composition.campaign_store().all_contacts(partition))


def company_rows(company):
    store, rows, after = composition.communication_store(), [], None
    while True:
        page = store.list(company.id, ListFilters(), 100, after)
        rows += page.items
        if page.next_after_id is None:
            return rows
        after = page.next_after_id


def expected_slots(api, company, campaign_id):
    campaign = composition.campaign_store().get(company.id, campaign_id)
    contacts = [(c.index, c.contact) for c in all_contacts(company, campaign_id)]
    return {
        call.index: call.scheduled_at
        for call in plan_calls(
            campaign.settings, contacts, now=datetime.now(UTC), numbers=campaign.phone_number_ids, seed=campaign.id
        )
    }


def test_scheduling_plans_every_contact_into_one_row_in_the_background(api, company, planner):
    campaign_id = scheduled_campaign(api, company, 300)
    slots = expected_slots(api, company, campaign_id)

    planner.drain()

    campaign = api.request("GET", f"{BATCH_CALLS}/{campaign_id}", company).json()["data"]
    contacts = all_contacts(company, campaign_id)
    rows = {row.id: row for row in company_rows(company)}
    assert campaign["status"] == "scheduled"
    assert campaign["contacts"]["by_status"]["scheduled"] == 300 and campaign["contacts"]["by_status"]["pending"] == 0
    assert [c.status.value for c in contacts] == ["scheduled"] * 300
    assert {c.index: c.scheduled_at for c in contacts} == slots
    assert len(rows) == 300 and {c.row_id for c in contacts} == set(rows)
    row = rows[contacts[7].row_id]
    assert (row.channel, row.status, row.source) == (Channel.VOICE_CALL, Status.PENDING, Source.CAMPAIGN)
    assert row.scheduled_for == contacts[7].scheduled_at
    assert row.payload["to_number"] == "+14155550007" and row.payload["dynamic_variables"] == {"seat": 7}
    assert row.payload["metadata"] == {
        "batch_call_id": campaign_id,
        "contact_index": 7,
        "phone_number_id": PHONE_NUMBER_ID,
        "local_date": contacts[7].local_date.isoformat(),
    }


def test_the_specs_scenario_keeps_to_the_window_the_days_and_the_cap(api, company, planner):
    campaign_id = scheduled_campaign(api, company, 300)

    planner.drain()

    contacts = all_contacts(company, campaign_id)
    local = [c.scheduled_at.astimezone(NEW_YORK) for c in contacts]
    per_day = Counter(moment.date() for moment in local)
    assert all(moment.isoweekday() <= 5 for moment in local)
    assert all(10 <= moment.hour < 17 for moment in local)
    assert sorted(per_day.values()) == [60, 120, 120] and len(set(local)) == 300
    assert local == sorted(local), "in the order the contacts were added"
    first_day = sorted(m for m in local if m.date() == local[0].date())
    assert first_day[-1].hour >= 16, "spread over the window, not bunched at its start"


def test_the_spec_contacts_query_shows_the_planned_slots(api, company, planner):
    campaign_id = scheduled_campaign(api, company, 60)
    planner.drain()

    reply = api.request("GET", f"{BATCH_CALLS}/{campaign_id}/contacts?status=scheduled&limit=50&offset=0", company)

    data = reply.json()["data"]
    assert reply.status == 200 and len(data) == 50 and reply.json()["meta"]["next_cursor"]
    assert all(
        c["status"] == "scheduled" and c["scheduled_at"] and c["phone_number_id"] == PHONE_NUMBER_ID for c in data
    )


class CrashAfter:
    """The plan store, dying (as a Lambda killed mid-run) at the write of its third batch: before writing
    anything, or (``inside``) after the batch's contacts and half its rows landed but not its checkpoint."""

    def __init__(self, store, batches: int, inside: bool):
        self._store, self._left, self._inside = store, batches, inside

    def __getattr__(self, name):
        return getattr(self._store, name)

    def write_plan_batch(self, campaign, progress, planned, careful):
        if self._left == 0:
            if self._inside:
                partition = contact_list_partition(CAMPAIGN_PREFIX, campaign.company_id, campaign.id)
                self._store.batch_put([contact_to_item(partition, item.entry) for item in planned])
                self._store.batch_put([row_to_item(item.row, 8) for item in planned[: len(planned) // 2]])
            raise SimulatedCrash
        self._left -= 1
        return self._store.write_plan_batch(campaign, progress, planned, careful)


@pytest.mark.parametrize("inside", [False, True], ids=["between batches", "inside a batch"])
def test_a_planner_that_dies_is_resumed_with_no_duplicate_and_no_lost_contact(api, company, planner, inside):
    campaign_id = scheduled_campaign(api, company, 130)
    slots = expected_slots(api, company, campaign_id)
    store = composition.campaign_plan_store()
    now = datetime.now(UTC)

    with pytest.raises(SimulatedCrash):
        plan_campaign(
            CrashAfter(store, 2, inside), company.id, campaign_id, lambda: now, lambda: 900, batch_contacts=25
        )
    too_soon = plan_campaign(store, company.id, campaign_id, lambda: now + timedelta(minutes=1), lambda: 900)
    resumed = plan_campaign(store, company.id, campaign_id, lambda: now + timedelta(minutes=16), lambda: 900)

    contacts = all_contacts(company, campaign_id)
    rows = company_rows(company)
    assert too_soon.planned == 0 and resumed.finished and resumed.planned == 130 - 50
    assert len(rows) == 130 and len({row.payload["to_number"] for row in rows}) == 130
    assert {c.row_id for c in contacts} == {row.id for row in rows}
    assert {c.index: c.scheduled_at for c in contacts} == slots
    assert {row.scheduled_for for row in rows} == set(slots.values())
    stored = composition.campaign_store().get(company.id, campaign_id, consistent=True)
    assert stored.status is CampaignStatus.SCHEDULED and stored.counts.get("scheduled") == 130


def test_contacts_an_upload_counted_but_died_before_writing_leave_the_counts_and_return_their_credits(
    api, company, planner
):
    from scheduled_comms.adapters.dynamodb.items import campaign_key

    created = api.request("POST", BATCH_CALLS, company, json_body=body(3))
    campaign_id = created.json()["data"]["id"]
    # An upload that died after reserving two more contacts' places and before writing them.
    composition.campaign_store()._reserve_indexes(
        campaign_key(company.id, campaign_id),
        2,
        datetime.now(UTC),
        "#status = :draft",
        {":draft": {"S": "draft"}},
    )
    assert api.request("POST", f"{BATCH_CALLS}/{campaign_id}/schedule", company).status == 202
    assert composition.credit_ledger().balance(company.id, consistent=True) == 1_000 - 5

    planner.drain()

    stored = composition.campaign_store().get(company.id, campaign_id, consistent=True)
    assert stored.status is CampaignStatus.SCHEDULED and stored.contacts_total == 3
    assert {k: v for k, v in stored.counts.items() if v} == {"scheduled": 3}
    assert stored.credits_returned == 2
    assert composition.credit_ledger().balance(company.id, consistent=True) == 1_000 - 3


class WindDownCrash:
    """The plan store, dying at the wind-down's second checkpoint: its rows cancelled, its contacts not."""

    def __init__(self, store):
        self._store, self._left = store, 1

    def __getattr__(self, name):
        return getattr(self._store, name)

    def write_wind_down_batch(self, campaign, progress, never_called, now):
        if self._left == 0:
            raise SimulatedCrash
        self._left -= 1
        return self._store.write_wind_down_batch(campaign, progress, never_called, now)


def test_a_cancel_mid_plan_winds_down_every_contact_once_across_a_crash(api, company, planner):
    campaign_id = scheduled_campaign(api, company, 250)
    store, rows = composition.campaign_plan_store(), composition.communication_store()
    now = datetime.now(UTC)
    cut_short = plan_campaign(store, company.id, campaign_id, lambda: now, lambda: 5, batch_contacts=150)
    assert (cut_short.planned, cut_short.finished) == (150, False)
    assert api.request("POST", f"{BATCH_CALLS}/{campaign_id}/cancel", company).status == 200

    with pytest.raises(SimulatedCrash):
        wind_down_campaign(WindDownCrash(store), rows, company.id, campaign_id, lambda: now, lambda: 900)
    resumed = wind_down_campaign(store, rows, company.id, campaign_id, lambda: now + timedelta(minutes=16), lambda: 900)
    again = wind_down_campaign(store, rows, company.id, campaign_id, lambda: now, lambda: 900)

    assert resumed.finished and resumed.planned == 250 - 98 and not again.finished
    assert Counter(row.status for row in company_rows(company)) == Counter({Status.CANCELLED: 150})
    contacts = all_contacts(company, campaign_id)
    assert Counter(c.status.value for c in contacts) == Counter({"scheduled": 150, "cancelled": 100})
    stored = composition.campaign_store().get(company.id, campaign_id, consistent=True)
    # The contacts never planned moved once each; those with a row move when the stream brings its cancel.
    assert {k: v for k, v in stored.counts.items() if v} == {"scheduled": 150, "cancelled": 100}
    assert stored.wound_down_at is not None


def test_a_planner_out_of_time_hands_over_and_the_next_run_finishes(api, company, planner):
    campaign_id = scheduled_campaign(api, company, 80)
    store = composition.campaign_plan_store()

    first = plan_campaign(store, company.id, campaign_id, lambda: datetime.now(UTC), lambda: 5, batch_contacts=30)
    planner.drain()  # the hand-over's stream record invokes the planner again

    assert (first.planned, first.finished) == (30, False)
    assert api.request("GET", f"{BATCH_CALLS}/{campaign_id}", company).json()["data"]["status"] == "scheduled"
    assert len(company_rows(company)) == 80


def test_pausing_while_scheduling_stops_the_plan_and_resuming_plans_the_rest_once(api, company, planner):
    campaign_id = scheduled_campaign(api, company, 90)
    store = composition.campaign_plan_store()
    api.request("POST", f"{BATCH_CALLS}/{campaign_id}/pause", company)

    nothing = plan_campaign(store, company.id, campaign_id, lambda: datetime.now(UTC), lambda: 900)
    resumed = api.request("POST", f"{BATCH_CALLS}/{campaign_id}/resume", company)
    planner.drain()

    contacts = all_contacts(company, campaign_id)
    assert nothing.planned == 0 and resumed.status == 202
    assert api.request("GET", f"{BATCH_CALLS}/{campaign_id}", company).json()["data"]["status"] == "scheduled"
    assert len(company_rows(company)) == 90 and all(c.row_id for c in contacts)


def test_a_folder_campaign_copies_the_folders_contacts_as_it_plans(api, company, planner):
    folder = api.request(
        "POST",
        "/v1/contact-folders",
        company,
        json_body={"name": "Leads", "contacts": [{"phone_number": f"+1415666{i:04d}"} for i in range(40)]},
    ).json()["data"]
    campaign_id = scheduled_campaign(
        api, company, 0, contact_source="folder", contacts=None, contact_folder_id=folder["id"]
    )

    planner.drain()

    contacts = all_contacts(company, campaign_id)
    assert [c.contact.phone_number for c in contacts] == [f"+1415666{i:04d}" for i in range(40)]
    assert all(c.status.value == "scheduled" for c in contacts) and len(company_rows(company)) == 40
    assert (
        api.request("GET", f"{BATCH_CALLS}/{campaign_id}", company).json()["data"]["contacts"]["by_status"]["scheduled"]
        == 40
    )


def first_slot(company, campaign_id):
    contacts = all_contacts(company, campaign_id)
    return contacts[0], min(c.scheduled_at for c in contacts)


def test_a_paused_campaigns_due_call_waits_and_a_cancelled_ones_is_skipped(
    api, make_company, planner, ticker, isolated_tables
):
    paused, cancelled = make_company(credits=10), make_company(credits=10)
    planner_here = StreamPump(isolated_tables, FunctionHost(isolated_tables), planner.consumer)
    held_id = scheduled_campaign(api, paused, 1)
    skipped_id = scheduled_campaign(api, cancelled, 1)
    planner_here.drain()
    api.request("POST", f"{BATCH_CALLS}/{held_id}/pause", paused)
    api.request("POST", f"{BATCH_CALLS}/{skipped_id}/cancel", cancelled)
    held_contact, due = first_slot(paused, held_id)
    skipped_contact, _ = first_slot(cancelled, skipped_id)

    ticker.at(due + timedelta(seconds=1))

    held = composition.communication_store().get(paused.id, held_contact.row_id, consistent=True)
    skipped = composition.communication_store().get(cancelled.id, skipped_contact.row_id, consistent=True)
    assert (held.status, held.attempt_count) == (Status.PENDING, 0)
    assert held.scheduled_for > due + timedelta(minutes=30) and held.dispatched_at is None
    assert (skipped.status, skipped.skip_reason) == (Status.SKIPPED, "its batch call is cancelled")
    assert composition.credit_ledger().balance(cancelled.id, consistent=True) == 10


# --- re-plans: resume and PATCH redistribution ---------------------------------------------------------------

MONDAY = date(2027, 3, 1)


def place_calls(company, campaign_id, count: int) -> None:
    """The first ``count`` contacts' calls placed, as the tick's gate places them (slot, contact, day counted)."""
    from scheduled_comms.composition.dispatch import campaign_call_gate

    rows = {row.id: row for row in company_rows(company)}
    moment = datetime(2027, 3, 1, 16, 0, tzinfo=UTC)
    for entry in all_contacts(company, campaign_id)[:count]:
        claimed = rows[entry.row_id].model_copy(update={"attempt_count": 1, "status": Status.DISPATCHING})
        assert campaign_call_gate().decide(claimed, moment) is None


def test_a_resumed_plan_counts_the_calls_placed_that_day_against_its_cap(api, company, planner):
    campaign_id = scheduled_campaign(api, company, 8, max_calls_per_day=4)
    planner.drain()
    place_calls(company, campaign_id, 3)  # three of Monday's four calls placed
    assert api.request("POST", f"{BATCH_CALLS}/{campaign_id}/pause", company).status == 200
    edited = api.request("PATCH", f"{BATCH_CALLS}/{campaign_id}", company, json_body={"max_calls_per_day": 3})
    assert edited.status == 200 and edited.json()["data"]["status"] == "paused"

    assert api.request("POST", f"{BATCH_CALLS}/{campaign_id}/resume", company).status == 202
    planner.drain()

    contacts = all_contacts(company, campaign_id)
    assert api.request("GET", f"{BATCH_CALLS}/{campaign_id}", company).json()["data"]["status"] == "scheduled"
    assert [c.status.value for c in contacts] == ["in_progress"] * 3 + ["scheduled"] * 5
    # Monday already has its three calls: the rest go Tuesday (three) and Wednesday (two).
    assert Counter(c.local_date for c in contacts) == Counter(
        {MONDAY: 3, MONDAY + timedelta(days=1): 3, MONDAY + timedelta(days=2): 2}
    )


def test_the_specs_patch_redistributes_an_active_campaigns_contacts_not_yet_dialled(api, company, planner):
    campaign_id = scheduled_campaign(api, company, 300, max_concurrent_calls=60)
    planner.drain()
    place_calls(company, campaign_id, 60)  # half of Monday's 120 placed: the campaign is active
    rows_before = {row.id for row in company_rows(company)}

    reply = api.request(
        "PATCH",
        f"{BATCH_CALLS}/{campaign_id}",
        company,
        body='{\n    "start_time": "09:30",\n    "end_time": "16:30",\n    "max_calls_per_day": 80\n  }',
        headers={"Content-Type": "application/json"},
    )
    assert reply.status == 200, reply.text
    data = reply.json()["data"]
    assert (data["status"], data["start_time"], data["end_time"], data["max_calls_per_day"]) == (
        "scheduling",
        "09:30",
        "16:30",
        80,
    )
    planner.drain()

    contacts = all_contacts(company, campaign_id)
    rows = {row.id: row for row in company_rows(company)}
    assert api.request("GET", f"{BATCH_CALLS}/{campaign_id}", company).json()["data"]["status"] == "scheduled"
    assert set(rows) == rows_before, "the rows are moved, none added"
    replanned = contacts[60:]
    assert all(c.status.value == "scheduled" for c in replanned)
    per_day = Counter(c.local_date for c in contacts)
    assert per_day[MONDAY] == 80, "Monday's 60 placed calls count against its new cap of 80"
    assert max(per_day.values()) == 80 and sum(per_day.values()) == 300
    times = [c.scheduled_at for c in replanned]
    assert len(set(times)) == len(times) and times == sorted(times)
    for entry in replanned:
        local = entry.scheduled_at.astimezone(NEW_YORK)
        assert "09:30" <= local.strftime("%H:%M") < "16:30" and local.isoweekday() <= 5
        row = rows[entry.row_id]
        assert (row.status, row.scheduled_for) == (Status.PENDING, entry.scheduled_at)
        assert row.payload["metadata"]["local_date"] == entry.local_date.isoformat()


def test_a_patch_that_changes_no_slot_only_updates_and_a_finished_campaign_is_not_edited(api, company, planner):
    campaign_id = scheduled_campaign(api, company, 2)
    planner.drain()

    capped = api.request("PATCH", f"{BATCH_CALLS}/{campaign_id}", company, json_body={"max_concurrent_calls": 2})
    api.request("POST", f"{BATCH_CALLS}/{campaign_id}/cancel", company)
    refused = api.request("PATCH", f"{BATCH_CALLS}/{campaign_id}", company, json_body={"start_time": "09:00"})

    assert capped.status == 200 and capped.json()["data"]["status"] == "scheduled"
    assert capped.json()["data"]["max_concurrent_calls"] == 2
    assert refused.status == 409 and fields(refused) == ["status"]
    assert refused.json()["error"]["details"][0]["message"] == "is cancelled"


def fields(reply) -> list[str]:
    return [detail["field"] for detail in reply.json()["error"]["details"]]


def test_a_replan_that_finds_every_contact_finished_completes_the_campaign(api, company, planner):
    from scheduled_comms.logic.campaigns.gate import campaign_call_ended

    campaign_id = scheduled_campaign(api, company, 1)
    planner.drain()
    place_calls(company, campaign_id, 1)  # the only contact's call is going on
    reply = api.request("PATCH", f"{BATCH_CALLS}/{campaign_id}", company, json_body={"max_calls_per_day": 50})
    assert reply.json()["data"]["status"] == "scheduling"
    row = company_rows(company)[0]
    outcome = {"call_id": "c1", "answered": True, "talk_seconds": 30, "end_reason": "completed"}
    campaign_call_ended(composition.campaign_call_store(), row, outcome, datetime.now(UTC))
    assert api.request("GET", f"{BATCH_CALLS}/{campaign_id}", company).json()["data"]["status"] == "scheduling"

    planner.drain()

    campaign = api.request("GET", f"{BATCH_CALLS}/{campaign_id}", company).json()["data"]
    assert campaign["status"] == "completed" and campaign["contacts"]["by_status"]["completed"] == 1
