"""The campaign planner: the spec's scenario, daylight-saving weeks, per-contact zones, rotation, resuming,
redistribution, and properties over random settings."""

from __future__ import annotations

import itertools
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scheduled_comms.logic.campaigns.planning import PlannedCall, contact_zone, plan_calls, redistribute
from scheduled_comms.models.campaigns import Contact, DeliverySettings

NUMBERS = [
    "11111111-1111-4111-8111-111111111111",
    "22222222-2222-4222-8222-222222222222",
    "33333333-3333-4333-8333-333333333333",
]
NEW_YORK = ZoneInfo("America/New_York")

# The spec's first example: New York, 10:00-17:00, Monday to Friday, 120 a day, 8 at once, from Friday 2026-03-20 10:30 EDT.
SPEC = {
    "schedule_type": "scheduled",
    "scheduled_at": "2026-03-20T14:30:00Z",
    "timezone": "America/New_York",
    "start_time": "10:00",
    "end_time": "17:00",
    "working_days": [1, 2, 3, 4, 5],
    "max_concurrent_calls": 8,
    "max_calls_per_day": 120,
}


def delivery(**fields) -> DeliverySettings:
    return DeliverySettings.model_validate(fields)


def contacts(count: int, start: int = 0, **fields) -> list[tuple[int, Contact]]:
    return [
        (index, Contact.model_validate({"phone_number": f"+1212555{index % 10_000:04d}", **fields}))
        for index in range(start, start + count)
    ]


def plan(spec: DeliverySettings, people, now: datetime, **kwargs) -> list[PlannedCall]:
    return list(plan_calls(spec, people, now=now, numbers=NUMBERS, seed="campaign-1", **kwargs))


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


def test_spec_scenario_fills_days_in_order_spread_over_the_window():
    # Given the spec's campaign, planned two days before it starts, with 500 contacts
    calls = plan(delivery(**SPEC), contacts(500), utc("2026-03-18T12:00:00Z"))

    # Then the first call is the first slot after 10:30 (slot 9 of 120, 210 s apart: 10:31:30 EDT)
    assert calls[0].scheduled_at == utc("2026-03-20T14:31:30Z")
    # And Friday takes the rest of its 120 slots, the next three weekdays 120 each, and Thursday the last 29
    per_day = Counter(call.local_date for call in calls)
    assert per_day == {
        date(2026, 3, 20): 111,
        date(2026, 3, 23): 120,
        date(2026, 3, 24): 120,
        date(2026, 3, 25): 120,
        date(2026, 3, 26): 29,
    }
    # And a full day runs from 10:00:00 to 16:56:30 local time, every 210 seconds
    monday = [call.scheduled_at for call in calls if call.local_date == date(2026, 3, 23)]
    assert monday[0].astimezone(NEW_YORK).strftime("%H:%M:%S") == "10:00:00"
    assert monday[-1].astimezone(NEW_YORK).strftime("%H:%M:%S") == "16:56:30"
    assert {later - earlier for earlier, later in itertools.pairwise(monday)} == {timedelta(seconds=210)}
    # And contact order is slot order, each slot its own
    times = [call.scheduled_at for call in calls]
    assert times == sorted(times) and len(set(times)) == len(times)
    assert [call.index for call in calls] == list(range(500))


def test_starts_now_when_scheduled_at_has_passed():
    now = utc("2026-03-24T18:00:00Z")  # Tuesday 14:00 EDT: 4 of 7 hours gone, so slot 69 (14:01:30) is next
    calls = plan(delivery(**SPEC), contacts(60), now)
    assert calls[0].scheduled_at == utc("2026-03-24T18:01:30Z")
    assert Counter(call.local_date for call in calls) == {date(2026, 3, 24): 51, date(2026, 3, 25): 9}


def test_a_week_across_the_spring_daylight_saving_change_keeps_local_hours():
    # Given New York 10:00-17:00 every day, 14 a day, from Thursday 2026-03-05 (clocks go forward Sunday 8th)
    spec = delivery(
        timezone="America/New_York",
        start_time="10:00",
        end_time="17:00",
        working_days=[1, 2, 3, 4, 5, 6, 7],
        max_calls_per_day=14,
    )
    calls = plan(spec, contacts(14 * 7), utc("2026-03-05T05:00:00Z"))

    # Then every day's calls run 10:00 to 16:30 local time, half an hour apart, before and after the change
    for day, group in itertools.groupby(calls, key=lambda call: call.local_date):
        local = [call.scheduled_at.astimezone(NEW_YORK) for call in group]
        assert [moment.strftime("%H:%M") for moment in local] == [
            f"{10 + k // 2}:{30 * (k % 2):02d}" for k in range(14)
        ]
        assert all(moment.date() == day for moment in local)
    # And the UTC hour of the first call moves from 15:00 (EST) to 14:00 (EDT)
    first_of = {call.local_date: call.scheduled_at for call in calls if call.day_slot == 0}
    assert first_of[date(2026, 3, 7)] == utc("2026-03-07T15:00:00Z")
    assert first_of[date(2026, 3, 8)] == utc("2026-03-08T14:00:00Z")


def test_a_window_holding_the_skipped_hour_spreads_over_the_time_that_elapses():
    # Given 01:00-04:00 in New York on the night the clocks skip 02:00-03:00: two real hours
    spec = delivery(
        timezone="America/New_York", start_time="01:00", end_time="04:00", working_days=[7], max_calls_per_day=4
    )
    calls = plan(spec, contacts(4), utc("2026-03-08T00:00:00Z"))
    local = [call.scheduled_at.astimezone(NEW_YORK).strftime("%H:%M") for call in calls]
    # Then the four calls are half an hour apart in elapsed time, none at a skipped wall time
    assert local == ["01:00", "01:30", "03:00", "03:30"]


def test_a_window_the_clocks_skip_entirely_holds_no_call_that_day():
    spec = delivery(
        timezone="America/New_York", start_time="02:00", end_time="03:00", working_days=[7], max_calls_per_day=3
    )
    calls = plan(spec, contacts(3), utc("2026-03-08T00:00:00Z"))
    assert {call.local_date for call in calls} == {date(2026, 3, 15)}
    assert [call.scheduled_at.astimezone(NEW_YORK).strftime("%H:%M") for call in calls] == ["02:00", "02:20", "02:40"]


def test_excluded_dates_and_weekends_are_skipped():
    spec = delivery(**SPEC, excluded_dates=["2026-03-23", "2026-03-24"])
    calls = plan(spec, contacts(250), utc("2026-03-20T21:00:00Z"))  # after Friday's window
    assert sorted(Counter(call.local_date for call in calls).items()) == [
        (date(2026, 3, 25), 120),
        (date(2026, 3, 26), 120),
        (date(2026, 3, 27), 10),
    ]


def test_auto_contact_timezone_reads_each_contacts_own_clock():
    spec = delivery(start_time="10:00", end_time="17:00", contact_timezone="auto", timezone="America/New_York")
    people = [
        (0, Contact.model_validate({"phone_number": "+442079460000"})),  # London: one zone
        (1, Contact.model_validate({"phone_number": "+61298765432"})),  # Sydney landline: one zone
        (2, Contact.model_validate({"phone_number": "+61412345678"})),  # Australian mobile: many zones
        (3, Contact.model_validate({"phone_number": "+442079460001", "timezone": "Asia/Tokyo"})),
    ]
    zones = [contact_zone(contact, spec) for _, contact in people]
    assert zones == ["Europe/London", "Australia/Sydney", "America/New_York", "Asia/Tokyo"]
    for call, zone in zip(plan(spec, people, utc("2026-06-01T00:00:00Z")), zones, strict=True):
        local = call.scheduled_at.astimezone(ZoneInfo(zone))
        assert local.date() == call.local_date and local.isoweekday() <= 5
        assert "10:00" <= local.strftime("%H:%M") < "17:00"


def test_campaign_contact_timezone_ignores_the_contacts_zone():
    spec = delivery(timezone="America/New_York")
    contact = Contact.model_validate({"phone_number": "+442079460000", "timezone": "Asia/Tokyo"})
    assert contact_zone(contact, spec) == "America/New_York"


@pytest.mark.parametrize(
    ("rotation", "expected"),
    [("sequential", [0, 0, 0, 0, 0]), ("round_robin", [0, 1, 2, 0, 1])],
)
def test_rotation_by_contact_index(rotation, expected):
    calls = plan(delivery(phone_rotation=rotation), contacts(5), utc("2026-03-02T00:00:00Z"))
    assert [call.phone_number_id for call in calls] == [NUMBERS[k] for k in expected]


def test_random_rotation_is_reproducible_from_its_seed():
    spec = delivery(phone_rotation="random")
    people = contacts(200)
    now = utc("2026-03-02T00:00:00Z")

    def numbers(seed: str) -> list[str]:
        return [call.phone_number_id for call in plan_calls(spec, people, now=now, numbers=NUMBERS, seed=seed)]

    assert numbers("campaign-1") == numbers("campaign-1")
    assert numbers("campaign-1") != numbers("campaign-2")
    assert set(numbers("campaign-1")) == set(NUMBERS)


def test_planning_is_lazy_so_memory_does_not_grow_with_contacts():
    # An endless stream of contacts: the planner hands out slots as they are asked for.
    endless = ((index, contact) for index, (_, contact) in zip(itertools.count(), itertools.cycle(contacts(3))))
    first = list(
        itertools.islice(
            plan_calls(delivery(**SPEC), endless, now=utc("2026-03-18T12:00:00Z"), numbers=NUMBERS, seed="s"), 1_000
        )
    )
    assert [call.index for call in first] == list(range(1_000))


def test_taken_slots_are_left_to_the_calls_holding_them():
    now = utc("2026-03-18T12:00:00Z")
    calls = plan(delivery(**SPEC), contacts(20), now, taken={date(2026, 3, 20): 115})
    assert Counter(call.local_date for call in calls) == {date(2026, 3, 20): 5, date(2026, 3, 23): 15}
    assert [call.day_slot for call in calls[:5]] == [115, 116, 117, 118, 119]


def test_redistribution_counts_todays_placed_calls_against_todays_cap():
    # Given a campaign that has placed 100 calls today (Tuesday) by 13:30, when it is re-planned at 80 a day
    now = utc("2026-03-24T17:30:00Z")
    new = delivery(**{**SPEC, "start_time": "09:30", "end_time": "16:30", "max_calls_per_day": 80})
    calls = list(
        redistribute(new, contacts(100, start=100), now=now, placed={date(2026, 3, 24): 70}, numbers=NUMBERS, seed="s")
    )

    # Then today takes only the 10 calls its cap has left, after now, and the next days take 80 each
    per_day = Counter(call.local_date for call in calls)
    assert per_day == {date(2026, 3, 24): 10, date(2026, 3, 25): 80, date(2026, 3, 26): 10}
    assert all(call.scheduled_at >= now for call in calls)
    # And the new window and rotation hold: 09:30 to 16:30 local, contacts keep their index
    wednesday = [call.scheduled_at.astimezone(NEW_YORK) for call in calls if call.local_date == date(2026, 3, 25)]
    assert wednesday[0].strftime("%H:%M") == "09:30" and wednesday[-1].strftime("%H:%M:%S") == "16:24:45"
    assert [call.index for call in calls] == list(range(100, 200))


def test_redistribution_never_uses_todays_passed_slots():
    # 10 calls placed by 13:30 of a 09:30-16:30 day at 80 a day: more than half the day's slots have passed
    now = utc("2026-03-24T17:30:00Z")
    new = delivery(**{**SPEC, "start_time": "09:30", "end_time": "16:30", "max_calls_per_day": 80})
    calls = list(redistribute(new, contacts(100), now=now, placed={date(2026, 3, 24): 10}, numbers=NUMBERS, seed="s"))
    today = [call for call in calls if call.local_date == date(2026, 3, 24)]
    assert len(today) == 80 - 46  # slot 46 (13:31:30) is the first after 13:30
    assert today[0].scheduled_at == utc("2026-03-24T17:31:30Z")


# Properties over random settings, starts, earlier calls and zones with and without daylight saving.
ZONES = [
    "UTC",
    "America/New_York",
    "Europe/London",
    "Australia/Sydney",
    "Australia/Lord_Howe",
    "Asia/Kolkata",
    "America/Santiago",
    "Pacific/Chatham",
]


@st.composite
def scenarios(draw):
    start = draw(st.integers(0, 23 * 60))
    end = draw(st.integers(start + 1, 24 * 60))
    spec = delivery(
        timezone=draw(st.sampled_from(ZONES)),
        start_time=f"{start // 60:02d}:{start % 60:02d}",
        end_time=f"{end // 60:02d}:{end % 60:02d}",
        working_days=draw(st.lists(st.integers(1, 7), min_size=1, max_size=7, unique=True)),
        max_calls_per_day=draw(st.integers(1, min(60, (end - start) * 60))),
        excluded_dates=[date(2026, 1, 1) + timedelta(days=k) for k in draw(st.sets(st.integers(0, 400), max_size=30))],
    )
    now = datetime(2026, 1, 1, tzinfo=UTC) + timedelta(seconds=draw(st.integers(0, 365 * 86_400)))
    taken = {
        (now + timedelta(days=k)).date(): draw(st.integers(0, 70))
        for k in draw(st.sets(st.integers(-1, 5), max_size=4))
    }
    return spec, now, taken, draw(st.integers(1, 250))


@settings(max_examples=150, deadline=None)
@given(scenarios())
def test_every_slot_is_inside_the_window_on_an_open_day_under_the_cap(scenario):
    spec, now, taken, count = scenario
    zone = ZoneInfo(spec.timezone)
    calls = plan(spec, contacts(count), now, taken=taken)

    assert len(calls) == count
    for call in calls:
        local = call.scheduled_at.astimezone(zone)
        assert call.scheduled_at >= now and call.scheduled_at.microsecond == 0
        assert local.date() == call.local_date
        assert local.isoweekday() in spec.working_days and local.date() not in spec.excluded_dates
        assert spec.start_minutes <= local.hour * 60 + local.minute < spec.end_minutes
    for day, planned in Counter(call.local_date for call in calls).items():
        assert planned + taken.get(day, 0) <= spec.max_calls_per_day
    times = [call.scheduled_at for call in calls]
    assert times == sorted(times) and len(set(times)) == len(times)


@settings(max_examples=150, deadline=None)
@given(scenarios())
def test_a_days_calls_are_evenly_spaced(scenario):
    spec, now, taken, count = scenario
    for _, group in itertools.groupby(plan(spec, contacts(count), now, taken=taken), key=lambda call: call.local_date):
        gaps = [(b.scheduled_at - a.scheduled_at).total_seconds() for a, b in itertools.pairwise(group)]
        if gaps:
            assert max(gaps) - min(gaps) <= 1


@settings(max_examples=150, deadline=None)
@given(scenarios(), st.data())
def test_resuming_from_any_contact_gives_the_uninterrupted_plan(scenario, data):
    spec, now, taken, count = scenario
    people = contacts(count)
    full = plan(spec, people, now, taken=taken)
    # A crash after k contacts: the stored plan says how many slots of each day are taken
    k = data.draw(st.integers(0, count))
    resumed_taken = dict(taken)
    for call in full[:k]:
        resumed_taken[call.local_date] = call.day_slot + 1
    assert plan(spec, people[k:], now, taken=resumed_taken) == full[k:]


def test_company_holidays_are_closed_days_for_a_plan_in_their_zone_only():
    from scheduled_comms.models.business_hours import Holiday, Holidays

    monday = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)
    new_york = DeliverySettings.model_validate(
        {"timezone": "America/New_York", "start_time": "10:00", "end_time": "17:00", "max_calls_per_day": 2}
    )
    closed = Holidays(
        holidays=[
            Holiday(date=date(2026, 11, 30), name="Closed Monday"),
            Holiday(date=date(2026, 12, 1), timezones=["Europe/London"]),  # not New York's
        ]
    )
    contacts = [(i, Contact(phone_number=f"+1415555{i:04d}")) for i in range(4)]

    calls = list(plan_calls(new_york, contacts, now=monday, numbers=["n"], seed="s", holidays=closed))

    assert [call.local_date for call in calls] == [date(2026, 12, 1)] * 2 + [date(2026, 12, 2)] * 2
