"""The batch-call and contact-folder routes through the gateway: the spec's examples, validation naming each
field, every illegal transition, scopes, idempotency under both header names, and nothing half-written."""

from __future__ import annotations

import json
import uuid

import pytest
from scheduled_comms import composition
from scheduled_comms.models.campaigns import Contact, ContactFolder
from scheduled_comms.models.domain import now_utc
from scheduled_comms.models.registry import VoiceAgentConfig

from tests.conftest import PHONE_NUMBER_ID, VOICE_CONFIG_ID

BATCH_CALLS = "/v1/batch-calls"
FOLDERS = "/v1/contact-folders"
SPEC_AGENT = "1f4baf16-1540-4d91-9696-7f34b2f2cb77"
SPEC_FOLDER = "6f4af8be-0a96-49b0-ac2a-a359f46cc966"
# The spec's first example, as its curl sends it.
SPEC_CREATE = """{
    "name": "Delivery Logic Example",
    "agent_id": "1f4baf16-1540-4d91-9696-7f34b2f2cb77",
    "contact_source": "folder",
    "contact_folder_id": "6f4af8be-0a96-49b0-ac2a-a359f46cc966",
    "schedule_type": "scheduled",
    "scheduled_at": "2026-03-20T14:30:00Z",
    "timezone": "America/New_York",
    "start_time": "10:00",
    "end_time": "17:00",
    "working_days": [1,2,3,4,5],
    "max_concurrent_calls": 8,
    "max_calls_per_day": 120
  }"""
SPEC_PATCH = """{
    "start_time": "09:30",
    "end_time": "16:30",
    "max_calls_per_day": 80
  }"""


def numbers(count: int, first: int = 0) -> list[str]:
    return [f"+1415555{first + i:04d}" for i in range(count)]


def inline_body(count: int = 3, **overrides):
    body = {
        "name": "Renewals",
        "agent_id": VOICE_CONFIG_ID,
        "phone_number_ids": [PHONE_NUMBER_ID],
        "contact_source": "inline",
        "contacts": [{"phone_number": number, "name": f"P{i}"} for i, number in enumerate(numbers(count))],
        "timezone": "America/New_York",
        "start_time": "10:00",
        "end_time": "17:00",
        "max_calls_per_day": 120,
        "max_concurrent_calls": 8,
    }
    body.update(overrides)
    return body


def fields(reply) -> list[str]:
    return [detail["field"] for detail in reply.json()["error"]["details"]]


def balance(company) -> int:
    return composition.credit_ledger().balance(company.id, consistent=True)


@pytest.fixture
def company(make_company):
    return make_company(credits=50)


def create(api, company, **overrides) -> dict:
    reply = api.request("POST", BATCH_CALLS, company, json_body=inline_body(**overrides))
    assert reply.status == 201, reply.text
    return reply.json()["data"]


def with_spec_references(company) -> None:
    """The agent and folder the spec's example names, registered by ``company``."""
    now = now_utc()
    config = VoiceAgentConfig(
        id=SPEC_AGENT,
        name="Spec agent",
        provider="http",
        endpoint_url="https://voice.example.com/calls",
        agent_id="a",
        created_at=now,
    )
    composition.directory().put_voice_config(company.id, config, "arn:aws:secretsmanager:us-east-1:1:secret:none")
    folder = ContactFolder(id=SPEC_FOLDER, company_id=company.id, name="Spec folder", created_at=now, updated_at=now)
    composition.campaign_store().create_folder(folder, [Contact(phone_number=n) for n in numbers(5)])


# --- create ------------------------------------------------------------------------------------------------


def test_the_specs_first_example_creates_a_draft_and_a_repeat_answers_the_same(api, company):
    with_spec_references(company)
    headers = {"Content-Type": "application/json", "X-Idempotency-Key": "33333333-3333-3333-3333-333333333333"}

    first = api.request("POST", BATCH_CALLS, company, body=SPEC_CREATE, headers=headers)
    again = api.request("POST", BATCH_CALLS, company, body=SPEC_CREATE, headers=headers)

    assert first.status == 201, first.text
    created = first.json()["data"]
    assert created["status"] == "draft" and created["contact_folder_id"] == SPEC_FOLDER
    assert (created["schedule_type"], created["scheduled_at"]) == ("scheduled", "2026-03-20T14:30:00Z")
    assert (created["start_time"], created["end_time"], created["working_days"]) == ("10:00", "17:00", [1, 2, 3, 4, 5])
    assert (created["max_calls_per_day"], created["max_concurrent_calls"]) == (120, 8)
    assert (again.status, again.json()) == (201, first.json())
    listed = api.request("GET", BATCH_CALLS, company).json()["data"]
    assert [c["id"] for c in listed] == [created["id"]]


def test_a_key_reused_with_another_body_is_refused(api, company):
    headers = {"Idempotency-Key": str(uuid.uuid4())}
    api.request("POST", BATCH_CALLS, company, json_body=inline_body(), headers=headers)

    reply = api.request("POST", BATCH_CALLS, company, json_body=inline_body(name="Other"), headers=headers)

    assert reply.status == 422 and reply.json()["error"]["code"] == "idempotency_key_reused"


def test_inline_contacts_are_stored_in_order(api, company):
    created = create(api, company, count=3)

    contacts = api.request("GET", f"{BATCH_CALLS}/{created['id']}/contacts", company).json()["data"]

    assert created["contacts"]["total"] == 3 and created["contacts"]["by_status"]["pending"] == 3
    assert [(c["index"], c["phone_number"], c["name"]) for c in contacts] == [
        (0, "+14155550000", "P0"),
        (1, "+14155550001", "P1"),
        (2, "+14155550002", "P2"),
    ]


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"agent_id": str(uuid.uuid4())}, "agent_id"),
        ({"phone_number_ids": [PHONE_NUMBER_ID, str(uuid.uuid4())]}, "phone_number_ids[1]"),
        ({"contact_source": "folder", "contacts": None, "contact_folder_id": str(uuid.uuid4())}, "contact_folder_id"),
        ({"contact_source": "inline", "contacts": []}, "contacts"),
        ({"contacts": None, "contact_source": "none", "contact_folder_id": SPEC_FOLDER}, "contact_folder_id"),
        ({"start_time": "18:00"}, "end_time"),
        ({"working_days": [1, 8]}, "working_days[1]"),
        ({"timezone": "Mars/Base"}, "timezone"),
        ({"schedule_type": "scheduled"}, "scheduled_at"),
        ({"max_concurrent_calls": 0}, "max_concurrent_calls"),
    ],
)
def test_a_bad_create_names_its_field_and_stores_nothing(api, company, overrides, field):
    reply = api.request("POST", BATCH_CALLS, company, json_body=inline_body(**overrides))

    assert reply.status == 422, reply.text
    assert field in fields(reply)
    assert api.request("GET", BATCH_CALLS, company).json()["data"] == []


def test_another_companys_agent_is_not_the_callers(api, company, make_company):
    other = make_company()
    with_spec_references(other)

    reply = api.request("POST", BATCH_CALLS, company, json_body=inline_body(agent_id=SPEC_AGENT))

    assert reply.status == 422 and fields(reply) == ["agent_id"]


def test_bad_contact_lines_are_each_listed_and_none_is_stored(api, company):
    contacts = [
        {"phone_number": "+14155550001"},
        {"phone_number": "12"},
        {"name": "x"},
        {"phone_number": "+14155550001"},
    ]

    reply = api.request("POST", BATCH_CALLS, company, json_body=inline_body(contacts=contacts))

    assert reply.status == 422
    assert fields(reply) == ["contacts[1].phone_number", "contacts[2].phone_number", "contacts[3].phone_number"]
    assert api.request("GET", BATCH_CALLS, company).json()["data"] == []


# --- read --------------------------------------------------------------------------------------------------


def test_list_is_newest_first_filtered_by_status_and_paged_by_cursor(api, company):
    made = [create(api, company, name=f"c{i}", count=1)["id"] for i in range(3)]
    api.request("POST", f"{BATCH_CALLS}/{made[1]}/cancel", company)

    first = api.request("GET", f"{BATCH_CALLS}?limit=2", company).json()
    rest = api.request("GET", f"{BATCH_CALLS}?limit=2&cursor={first['meta']['next_cursor']}", company).json()
    cancelled = api.request("GET", f"{BATCH_CALLS}?status=cancelled", company).json()

    assert [c["name"] for c in first["data"] + rest["data"]] == ["c2", "c1", "c0"]
    assert rest["meta"]["next_cursor"] is None
    assert [c["id"] for c in cancelled["data"]] == [made[1]]


def test_another_companys_batch_call_is_not_found(api, company, make_company):
    created = create(api, company)
    other = make_company()

    assert api.request("GET", f"{BATCH_CALLS}/{created['id']}", other).status == 404
    assert api.request("GET", f"{BATCH_CALLS}/{created['id']}/contacts", other).status == 404
    assert api.request("POST", f"{BATCH_CALLS}/{created['id']}/cancel", other).status == 404


def test_the_specs_contacts_query_is_answered_and_pages_go_on_by_cursor(api, company):
    created = create(api, company, count=5)
    path = f"{BATCH_CALLS}/{created['id']}/contacts"

    spec = api.request("GET", f"{path}?status=scheduled&limit=50&offset=0", company)
    first = api.request("GET", f"{path}?status=pending&limit=3&offset=0", company).json()
    rest = api.request("GET", f"{path}?status=pending&limit=3&cursor={first['meta']['next_cursor']}", company).json()
    offset = api.request("GET", f"{path}?offset=3", company)

    assert (spec.status, spec.json()["data"]) == (200, [])
    assert [c["index"] for c in first["data"] + rest["data"]] == [0, 1, 2, 3, 4]
    assert rest["meta"]["next_cursor"] is None
    assert offset.status == 422 and fields(offset) == ["offset"]


# --- edit ---------------------------------------------------------------------------------------------------


def test_the_specs_patch_edits_a_draft(api, company):
    created = create(api, company)

    reply = api.request(
        "PATCH",
        f"{BATCH_CALLS}/{created['id']}",
        company,
        body=SPEC_PATCH,
        headers={"Content-Type": "application/json"},
    )

    assert reply.status == 200, reply.text
    data = reply.json()["data"]
    assert (data["start_time"], data["end_time"], data["max_calls_per_day"]) == ("09:30", "16:30", 80)
    read = api.request("GET", f"{BATCH_CALLS}/{created['id']}", company).json()["data"]
    assert read.pop("live") == {"calls_placed_today": 0, "calls_in_flight": 0, "next_due_at": None}
    assert {**read, "live": None} == data


@pytest.mark.parametrize(
    ("change", "field"),
    [({"end_time": "09:00"}, "end_time"), ({"timezone": "Nowhere/Town"}, "timezone"), ({}, "body")],
)
def test_a_bad_patch_names_its_field_and_changes_nothing(api, company, change, field):
    created = create(api, company)

    reply = api.request("PATCH", f"{BATCH_CALLS}/{created['id']}", company, json_body=change)

    assert reply.status == 422 and field in fields(reply)
    read = api.request("GET", f"{BATCH_CALLS}/{created['id']}", company).json()["data"]
    assert {**read, "live": None} == created


def test_a_patch_on_a_cancelled_batch_call_names_its_status(api, company):
    created = create(api, company)
    api.request("POST", f"{BATCH_CALLS}/{created['id']}/cancel", company)

    reply = api.request("PATCH", f"{BATCH_CALLS}/{created['id']}", company, json_body={"name": "New"})

    assert reply.status == 409 and reply.json()["error"]["code"] == "invalid_state"
    assert "cancelled" in reply.json()["error"]["message"]


# --- contacts -----------------------------------------------------------------------------------------------


def test_contacts_are_added_to_a_draft_as_json_or_csv(api, company):
    created = create(api, company, count=1)
    path = f"{BATCH_CALLS}/{created['id']}/contacts"
    csv = "phone_number,name,plan\n+14155550101,Ann,gold\n\n(415) 555-0102,Bo,\n"

    by_json = api.request("POST", path, company, json_body=[{"to_number": "+14155550100", "tier": 2}])
    by_csv = api.request("POST", f"{path}?default_region=US", company, body=csv, headers={"Content-Type": "text/csv"})
    listed = api.request("GET", path, company).json()["data"]

    assert (by_json.status, by_json.json()["data"]) == (201, {"added": 1, "contacts_total": 2})
    assert (by_csv.status, by_csv.json()["data"]) == (201, {"added": 2, "contacts_total": 4})
    assert [c["phone_number"] for c in listed] == ["+14155550000", "+14155550100", "+14155550101", "+14155550102"]
    assert listed[1]["dynamic_variables"] == {"tier": 2} and listed[2]["dynamic_variables"] == {"plan": "gold"}


def test_a_csv_with_bad_lines_lists_each_and_adds_none(api, company):
    created = create(api, company, count=1)
    path = f"{BATCH_CALLS}/{created['id']}/contacts"
    csv = "phone_number,name\n+14155550101,Ann\nnot-a-number,Bo\n+14155550000,Already\n+14155550101,Twice\n"

    reply = api.request("POST", path, company, body=csv, headers={"Content-Type": "text/csv"})

    assert reply.status == 422
    messages = [(d["field"], d["message"][:7]) for d in reply.json()["error"]["details"]]
    assert messages == [
        ("contacts[1].phone_number", "line 3:"),
        ("contacts[2].phone_number", "line 4:"),
        ("contacts[3].phone_number", "line 5:"),
    ]
    assert api.request("GET", f"{BATCH_CALLS}/{created['id']}", company).json()["data"]["contacts"]["total"] == 1


def test_contacts_are_added_only_to_a_draft(api, company):
    created = create(api, company, count=1)
    api.request("POST", f"{BATCH_CALLS}/{created['id']}/schedule", company)

    reply = api.request(
        "POST", f"{BATCH_CALLS}/{created['id']}/contacts", company, json_body=[{"phone_number": "+14155550999"}]
    )

    assert reply.status == 409 and fields(reply) == ["status"]
    assert reply.json()["error"]["details"][0]["message"] == "is scheduling"


def test_an_upload_with_one_key_adds_once_under_either_header(api, company):
    created = create(api, company, count=1)
    path = f"{BATCH_CALLS}/{created['id']}/contacts"
    key = str(uuid.uuid4())

    first = api.request(
        "POST", path, company, json_body=[{"phone_number": "+14155550200"}], headers={"Idempotency-Key": key}
    )
    again = api.request(
        "POST", path, company, json_body=[{"phone_number": "+14155550200"}], headers={"X-Idempotency-Key": key}
    )

    assert first.status == again.status == 201 and again.json() == first.json()
    assert api.request("GET", f"{BATCH_CALLS}/{created['id']}", company).json()["data"]["contacts"]["total"] == 2


def test_a_body_that_is_neither_json_nor_csv_is_refused(api, company):
    created = create(api, company, count=1)

    reply = api.request(
        "POST", f"{BATCH_CALLS}/{created['id']}/contacts", company, body="a", headers={"Content-Type": "text/plain"}
    )

    assert reply.status == 415


# --- scheduling and transitions ----------------------------------------------------------------------------


def test_scheduling_reserves_a_credit_per_contact_and_answers_202_scheduling(api, company):
    created = create(api, company, count=4)

    reply = api.request("POST", f"{BATCH_CALLS}/{created['id']}/schedule", company)

    assert reply.status == 202, reply.text
    assert (reply.json()["data"]["status"], reply.json()["data"]["credits_reserved"]) == ("scheduling", 4)
    assert balance(company) == 46


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"agent_id": None}, "agent_id"),
        ({"phone_number_ids": []}, "phone_number_ids"),
        ({"contact_source": "none", "contacts": None}, "contacts"),
    ],
)
def test_scheduling_without_a_prerequisite_names_it_and_reserves_nothing(api, company, overrides, field):
    created = create(api, company, **overrides)

    reply = api.request("POST", f"{BATCH_CALLS}/{created['id']}/schedule", company)

    assert reply.status == 422 and fields(reply) == [field]
    assert api.request("GET", f"{BATCH_CALLS}/{created['id']}", company).json()["data"]["status"] == "draft"
    assert balance(company) == 50


def test_scheduling_without_credits_for_every_contact_names_credits(api, make_company):
    poor = make_company(credits=2)
    created = create(api, poor, count=3)

    reply = api.request("POST", f"{BATCH_CALLS}/{created['id']}/schedule", poor)

    assert reply.status == 422 and fields(reply) == ["credits"]
    assert balance(poor) == 2


def test_a_folder_campaign_reserves_the_folders_contacts(api, company):
    with_spec_references(company)
    created = api.request(
        "POST", BATCH_CALLS, company, json_body={**json.loads(SPEC_CREATE), "phone_number_ids": [PHONE_NUMBER_ID]}
    )

    reply = api.request("POST", f"{BATCH_CALLS}/{created.json()['data']['id']}/schedule", company)

    assert reply.status == 202 and reply.json()["data"]["credits_reserved"] == 5
    assert balance(company) == 45


def test_pause_resume_and_cancel_return_the_credits_never_dialled(api, company):
    created = create(api, company, count=3)
    path = f"{BATCH_CALLS}/{created['id']}"
    api.request("POST", f"{path}/schedule", company)

    paused = api.request("POST", f"{path}/pause", company)
    resumed = api.request("POST", f"{path}/resume", company)
    cancelled = api.request("POST", f"{path}/cancel", company)

    assert (paused.status, paused.json()["data"]["status"]) == (200, "paused")
    assert (resumed.status, resumed.json()["data"]["status"]) == (202, "scheduling")
    assert (cancelled.status, cancelled.json()["data"]["status"]) == (200, "cancelled")
    assert cancelled.json()["data"]["credits_returned"] == 3 and balance(company) == 50


ILLEGAL = [
    ("draft", "pause"),
    ("draft", "resume"),
    ("scheduling", "schedule"),
    ("scheduling", "resume"),
    ("paused", "schedule"),
    ("paused", "pause"),
    ("cancelled", "schedule"),
    ("cancelled", "pause"),
    ("cancelled", "resume"),
    ("cancelled", "cancel"),
]
TO_REACH = {"draft": [], "scheduling": ["schedule"], "paused": ["schedule", "pause"], "cancelled": ["cancel"]}


@pytest.mark.parametrize(("status", "action"), ILLEGAL)
def test_an_illegal_transition_is_a_409_naming_the_status_and_changes_nothing(api, company, status, action):
    created = create(api, company, count=1)
    path = f"{BATCH_CALLS}/{created['id']}"
    for step in TO_REACH[status]:
        api.request("POST", f"{path}/{step}", company)
    before = api.request("GET", path, company).json()["data"]
    credits = balance(company)

    reply = api.request("POST", f"{path}/{action}", company)

    assert reply.status == 409, reply.text
    assert reply.json()["error"]["details"] == [{"field": "status", "message": f"is {status}"}]
    assert api.request("GET", path, company).json()["data"] == before and balance(company) == credits


# --- scopes -------------------------------------------------------------------------------------------------


def test_writes_need_campaigns_write_and_calls_initiate_and_reads_campaigns_read(api, make_company):
    reader = make_company(scopes=("campaigns:read",))
    writer_without_calls = make_company(scopes=("campaigns:write", "campaigns:read"))

    read = api.request("GET", BATCH_CALLS, reader)
    write = api.request("POST", BATCH_CALLS, writer_without_calls, json_body=inline_body())
    folder = api.request("POST", FOLDERS, reader, json_body={"name": "x"})

    assert read.status == 200
    assert write.status == 403 and "calls:initiate" in write.json()["error"]["message"]
    assert folder.status == 403


# --- folders ------------------------------------------------------------------------------------------------


def test_folders_are_created_grown_by_csv_and_listed(api, company):
    made = api.request(
        "POST", FOLDERS, company, json_body={"name": "Leads", "contacts": [{"phone_number": "+14155550300"}]}
    )
    folder = made.json()["data"]
    path = f"{FOLDERS}/{folder['id']}/contacts"

    grown = api.request("POST", path, company, body="to_number\n+14155550301\n", headers={"Content-Type": "text/csv"})
    twice = api.request("POST", path, company, json_body=[{"phone_number": "+14155550301"}])
    listed = api.request("GET", FOLDERS, company).json()["data"]
    contacts = api.request("GET", path, company).json()["data"]

    assert made.status == 201 and folder["contacts_total"] == 1
    assert (grown.status, grown.json()["data"]) == (201, {"added": 1, "contacts_total": 2})
    assert twice.status == 422 and fields(twice) == ["contacts[0].phone_number"]
    assert [f["id"] for f in listed] == [folder["id"]] and listed[0]["contacts_total"] == 2
    assert [c["phone_number"] for c in contacts] == ["+14155550300", "+14155550301"]


def test_another_companys_folder_is_not_found(api, company, make_company):
    folder = api.request("POST", FOLDERS, company, json_body={"name": "Mine"}).json()["data"]
    other = make_company()

    assert api.request("GET", f"{FOLDERS}/{folder['id']}/contacts", other).status == 404
    assert (
        api.request(
            "POST", f"{FOLDERS}/{folder['id']}/contacts", other, json_body=[{"phone_number": "+14155550000"}]
        ).status
        == 404
    )


def test_the_dev_companys_key_carries_the_campaign_scopes():
    from scheduled_comms.logic.auth import ALL_SCOPES

    assert {"campaigns:read", "campaigns:write", "calls:initiate"} <= set(ALL_SCOPES)


def test_two_concurrent_uploads_of_one_number_do_not_both_land(api, company, monkeypatch):
    from concurrent.futures import ThreadPoolExecutor
    from threading import Barrier

    from scheduled_comms.adapters.dynamodb.campaigns import DynamoCampaignStore

    created = create(api, company, count=1)
    path = f"{BATCH_CALLS}/{created['id']}/contacts"
    both_read = Barrier(2, timeout=30)
    real_known = DynamoCampaignStore.known_numbers

    def known_then_wait(self, *args):
        found = real_known(self, *args)
        both_read.wait()  # each upload has checked the campaign's numbers before either writes
        return found

    monkeypatch.setattr(DynamoCampaignStore, "known_numbers", known_then_wait)
    uploads = [
        [{"phone_number": "+14155550700"}, {"phone_number": "+14155550701"}],
        [{"phone_number": "+14155550702"}, {"phone_number": "+14155550700"}],
    ]
    with ThreadPoolExecutor(max_workers=2) as pool:
        replies = list(pool.map(lambda upload: api.request("POST", path, company, json_body=upload), uploads))
    monkeypatch.setattr(DynamoCampaignStore, "known_numbers", real_known)

    assert sorted(reply.status for reply in replies) == [201, 422]
    refused = next(reply for reply in replies if reply.status == 422)
    lost = uploads[replies.index(refused)]
    shared_line = next(i for i, contact in enumerate(lost) if contact["phone_number"] == "+14155550700")
    assert fields(refused) == [f"contacts[{shared_line}].phone_number"]
    listed = [c["phone_number"] for c in api.request("GET", path, company).json()["data"]]
    assert listed.count("+14155550700") == 1 and len(listed) == 3
    assert api.request("GET", f"{BATCH_CALLS}/{created['id']}", company).json()["data"]["contacts"]["total"] == 3
    # The refused upload's other number was let go: it can be added now.
    other = next(contact for contact in lost if contact["phone_number"] != "+14155550700")
    assert api.request("POST", path, company, json_body=[other]).status == 201
