"""Campaign models and contact uploads: settings errors name their field, contacts parse from JSON and CSV,
a bad line refuses the whole upload, and every illegal status transition is refused naming the status."""

from __future__ import annotations

import itertools

import pytest
from pydantic import ValidationError
from scheduled_comms.errors import InvalidState, ValidationFailed, field_errors
from scheduled_comms.http.errors import status_of
from scheduled_comms.logic.campaigns.contacts import MAX_LISTED_ERRORS, parse_contact_csv, parse_contact_json
from scheduled_comms.models.campaigns import TRANSITIONS, CampaignStatus, Contact, DeliverySettings, check_transition


def settings_errors(**fields) -> dict[str, str]:
    with pytest.raises(ValidationError) as caught:
        DeliverySettings.model_validate(fields)
    return {error.field: error.message for error in field_errors(caught.value.errors())}


def refusal(call) -> ValidationFailed:
    with pytest.raises(ValidationFailed) as caught:
        call()
    return caught.value


def test_settings_defaults():
    spec = DeliverySettings()
    assert (spec.timezone, spec.start_time, spec.end_time, spec.working_days) == (
        "UTC",
        "09:00",
        "17:00",
        [1, 2, 3, 4, 5],
    )
    assert spec.retry.max_attempts == 1 and spec.scheduled_at is None


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"timezone": "Mars/Olympus"}, "timezone", "IANA"),
        ({"start_time": "9:00"}, "start_time", "pattern"),
        ({"start_time": "17:00", "end_time": "10:00"}, "end_time", "later than start_time"),
        ({"working_days": []}, "working_days", "at least 1"),
        ({"working_days": [1, 1]}, "working_days", "repeat"),
        ({"working_days": [0]}, "working_days[0]", "greater than or equal to 1"),
        ({"max_calls_per_day": 0}, "max_calls_per_day", "greater than or equal to 1"),
        ({"start_time": "10:00", "end_time": "10:01", "max_calls_per_day": 61}, "max_calls_per_day", "(60)"),
        ({"max_concurrent_calls": 0}, "max_concurrent_calls", "greater than or equal to 1"),
        ({"excluded_dates": ["2026-12-25", "2026-12-25"]}, "excluded_dates", "repeat"),
        ({"contact_timezone": "contact"}, "contact_timezone", "'campaign' or 'auto'"),
        ({"schedule_type": "scheduled"}, "scheduled_at", "required when schedule_type is scheduled"),
        ({"scheduled_at": "2026-03-20T14:30:00Z"}, "scheduled_at", "only allowed when"),
        ({"schedule_type": "scheduled", "scheduled_at": "2026-03-20T14:30:00"}, "scheduled_at", "UTC offset"),
        ({"phone_rotation": "shuffle"}, "phone_rotation", "'sequential', 'round_robin' or 'random'"),
        ({"retry": {"max_attempts": 6}}, "retry.max_attempts", "less than or equal to 5"),
        ({"retry": {"retry_on": ["no_answer", "hung_up"]}}, "retry.retry_on[1]", "no_answer"),
        ({"retry": {"retry_on": ["busy", "busy"]}}, "retry.retry_on", "repeat"),
        ({"start": "10:00"}, "start", "not a recognised field"),
    ],
)
def test_bad_settings_name_their_field(fields, field, message):
    errors = settings_errors(**fields)
    assert field in errors, errors
    assert message in errors[field]


def test_contact_other_fields_become_dynamic_variables():
    contact = Contact.model_validate(
        {"to_number": "+12125550100", "name": "Ada", "plan": "gold", "dynamic_variables": {"seats": 3}}
    )
    assert contact.phone_number == "+12125550100" and contact.name == "Ada"
    assert contact.dynamic_variables == {"seats": 3, "plan": "gold"}


def test_contact_national_number_needs_a_region():
    assert (
        Contact.model_validate({"phone_number": "(212) 555-0100"}, context={"default_region": "US"}).phone_number
        == "+12125550100"
    )
    with pytest.raises(ValidationError, match=r"E\.164"):
        Contact.model_validate({"phone_number": "(212) 555-0100"})


def test_json_upload():
    contacts = parse_contact_json(
        [{"phone_number": "+12125550100", "timezone": "America/Chicago"}, {"to_number": "020 7946 0000", "crm": "x1"}],
        default_region="GB",
    )
    assert [c.phone_number for c in contacts] == ["+12125550100", "+442079460000"]
    assert contacts[0].timezone == "America/Chicago" and contacts[1].dynamic_variables == {"crm": "x1"}


def test_json_upload_with_bad_lines_is_refused_whole_listing_each():
    error = refusal(
        lambda: parse_contact_json(
            [
                {"phone_number": "+12125550100"},
                {"phone_number": "555"},
                {"phone_number": "+12125550101", "contact_id": "nope"},
                {"phone_number": "+12125550100"},
                {"phone_number": "+12125550199"},
                "not an object",
            ],
            existing={"+12125550199"},
        )
    )
    fields = [detail.field for detail in error.details]
    assert fields == [
        "contacts[1].phone_number",
        "contacts[2].contact_id",
        "contacts[3].phone_number",
        "contacts[4].phone_number",
        "contacts[5]",
    ]
    assert error.details[2].message == "repeats contacts[0]"
    assert "already in the campaign" in error.details[3].message
    assert error.message.startswith("5 of the 6 contacts")
    assert status_of(error) == 422


def test_upload_lists_at_most_a_hundred_problems_but_counts_every_bad_line():
    error = refusal(lambda: parse_contact_json([{"phone_number": "bad"}] * 300))
    assert len(error.details) == MAX_LISTED_ERRORS
    assert error.message.startswith("300 of the 300")


@pytest.mark.parametrize(
    ("body", "field"),
    [({"phone_number": "+12125550100"}, "body"), ([{"phone_number": "+12125550100"}] * 1_001, "contacts")],
)
def test_json_upload_must_be_an_array_of_at_most_a_thousand(body, field):
    assert refusal(lambda: parse_contact_json(body)).details[0].field == field


def test_csv_upload_reads_columns_and_variables():
    text = '\ufeffto_number,name,timezone,plan\r\n(212) 555-0100,Ada,,gold\r\n\r\n+442079460000,"Lovelace, A",Europe/London,\r\n'
    contacts = parse_contact_csv(text, default_region="US")
    assert [(c.phone_number, c.name, c.timezone, c.dynamic_variables) for c in contacts] == [
        ("+12125550100", "Ada", None, {"plan": "gold"}),
        ("+442079460000", "Lovelace, A", "Europe/London", {}),
    ]


def test_csv_bad_lines_name_index_and_line():
    text = "phone_number,name\n+12125550100,Ada\n+1212,Bob\n+12125550100,Cy\n+12125550102,Di,extra\n"
    error = refusal(lambda: parse_contact_csv(text))
    assert [(d.field, d.message.split(":")[0]) for d in error.details] == [
        ("contacts[1].phone_number", "line 3"),
        ("contacts[2].phone_number", "line 4"),
        ("contacts[3]", "line 5"),
    ]
    assert error.details[2].message == "line 5: has 3 cells; the header names 2 columns"


@pytest.mark.parametrize("text", ["", "name,email\nAda,a@example.com\n", "phone_number,name,name\n", "phone_number,\n"])
def test_csv_header_must_name_the_number_column_and_each_column_once(text):
    assert refusal(lambda: parse_contact_csv(text)).details[0].field == "body"


def test_csv_of_more_than_a_thousand_rows_is_refused():
    text = "phone_number\n" + "".join(f"+1212555{k:04d}\n" for k in range(1_001))
    assert refusal(lambda: parse_contact_csv(text)).details[0].field == "contacts"


ALL_MOVES = list(itertools.product(CampaignStatus, CampaignStatus))


@pytest.mark.parametrize(("current", "target"), [move for move in ALL_MOVES if move[1] in TRANSITIONS[move[0]]])
def test_legal_transitions(current, target):
    assert check_transition(current, target) is target


@pytest.mark.parametrize(("current", "target"), [move for move in ALL_MOVES if move[1] not in TRANSITIONS[move[0]]])
def test_every_illegal_transition_is_a_409_naming_the_current_status(current, target):
    with pytest.raises(InvalidState) as caught:
        check_transition(current, target)
    assert f"is {current.value}" in caught.value.message
    assert status_of(caught.value) == 409


def test_the_issues_lifecycle_is_legal_and_finished_campaigns_stay_finished():
    path = ["draft", "scheduling", "scheduled", "active", "paused", "scheduling", "scheduled", "active", "completed"]
    for current, target in itertools.pairwise(path):
        check_transition(CampaignStatus(current), CampaignStatus(target))
    assert TRANSITIONS[CampaignStatus.COMPLETED] == TRANSITIONS[CampaignStatus.CANCELLED] == frozenset()
