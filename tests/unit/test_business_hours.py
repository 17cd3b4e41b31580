"""Business hours across zones east and west of UTC and across daylight-saving changes."""

from __future__ import annotations

import zoneinfo
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError
from scheduled_comms.logic.business_hours import is_open, local_time_instant, next_window_start
from scheduled_comms.models.business_hours import BusinessHours, TimeWindow, Weekday
from scheduled_comms.models.values import iana_zone_names

DEFAULT = BusinessHours()


def hours_in(zone: str, **windows: list[tuple[str, str]]) -> BusinessHours:
    return BusinessHours(
        timezone=zone,
        windows={Weekday(day): [TimeWindow(start=s, end=e) for s, e in spans] for day, spans in windows.items()},
    )


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


def test_default_is_weekdays_nine_to_five_utc():
    assert is_open(utc("2026-11-23T09:00:00Z"), DEFAULT)  # Monday
    assert not is_open(utc("2026-11-23T17:00:00Z"), DEFAULT)
    assert not is_open(utc("2026-11-28T12:00:00Z"), DEFAULT)  # Saturday
    assert next_window_start(utc("2026-11-27T17:30:00Z"), DEFAULT) == utc("2026-11-30T09:00:00Z")


@pytest.mark.parametrize(
    ("zone", "now", "expected"),
    [
        # East of UTC: 09:00 UTC Friday is 20:00 in Sydney; the next window is Monday 09:00 AEDT.
        ("Australia/Sydney", "2026-11-27T09:00:00Z", "2026-11-29T22:00:00Z"),
        ("Asia/Kolkata", "2026-11-23T02:00:00Z", "2026-11-23T03:30:00Z"),
        # West of UTC: 12:00 UTC Monday is 04:00 in Los Angeles.
        ("America/Los_Angeles", "2026-11-23T12:00:00Z", "2026-11-23T17:00:00Z"),
        ("Pacific/Honolulu", "2026-11-24T03:30:00Z", "2026-11-24T19:00:00Z"),
        # Inside a window: unchanged.
        ("America/New_York", "2026-11-23T15:00:00Z", "2026-11-23T15:00:00Z"),
    ],
)
def test_next_window_start_east_and_west(zone, now, expected):
    assert next_window_start(utc(now), DEFAULT, zone) == utc(expected)


def test_row_zone_overrides_the_company_zone():
    hours = BusinessHours(timezone="Europe/London")
    monday_8am_utc = utc("2026-11-23T08:00:00Z")
    assert not is_open(monday_8am_utc, hours)
    assert is_open(monday_8am_utc, hours, "Europe/Berlin")


def test_spring_forward_gap_opens_at_the_transition():
    # New York, 2027-03-14: 02:00 EST jumps to 03:00 EDT. A window from 02:30 opens at 03:00 EDT.
    hours = hours_in("America/New_York", sun=[("02:30", "05:00")])
    start = next_window_start(utc("2027-03-14T05:00:00Z"), hours)
    assert start == utc("2027-03-14T07:00:00Z")
    assert start.astimezone(zoneinfo.ZoneInfo("America/New_York")).hour == 3


def test_window_entirely_inside_a_gap_never_opens_that_day():
    hours = hours_in("America/New_York", sun=[("02:10", "02:50")])
    start = next_window_start(utc("2027-03-14T05:00:00Z"), hours)
    assert start is not None
    assert start.astimezone(zoneinfo.ZoneInfo("America/New_York")).date().isoformat() == "2027-03-21"


def test_fall_back_overlap_opens_at_the_first_occurrence():
    # Sydney, 2027-04-04: 03:00 AEDT falls back to 02:00 AEST; 02:30 happens twice.
    hours = hours_in("Australia/Sydney", sun=[("02:30", "04:00")])
    start = next_window_start(utc("2027-04-03T14:00:00Z"), hours)
    assert start == utc("2027-04-03T15:30:00Z")  # 02:30 AEDT, the first 02:30
    assert is_open(utc("2027-04-03T16:30:00Z"), hours)  # 02:30 AEST, the second time round


def test_validation_of_windows():
    with pytest.raises(ValidationError):
        TimeWindow(start="17:00", end="09:00")
    with pytest.raises(ValidationError):
        TimeWindow(start="9:00", end="17:00")
    with pytest.raises(ValidationError):
        BusinessHours(windows={})
    with pytest.raises(ValidationError):
        hours_in("UTC", mon=[("09:00", "12:00"), ("11:00", "13:00")])
    assert hours_in("UTC", mon=[("00:00", "24:00")]).windows[Weekday.MON][0].end_minutes == 1440


ZONES = sorted(iana_zone_names())
times = st.integers(min_value=0, max_value=23 * 60 + 59).map(lambda m: f"{m // 60:02d}:{m % 60:02d}")


@st.composite
def schedules(draw):
    windows = {}
    for day in draw(st.sets(st.sampled_from(list(Weekday)), min_size=1, max_size=7)):
        start = draw(st.integers(min_value=0, max_value=23 * 60))
        end = draw(st.integers(min_value=start + 1, max_value=24 * 60))
        windows[day] = [TimeWindow(start=f"{start // 60:02d}:{start % 60:02d}", end=f"{end // 60:02d}:{end % 60:02d}")]
    return BusinessHours(timezone=draw(st.sampled_from(ZONES)), windows=windows)


instants = st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2037, 12, 31), timezones=st.just(UTC))


@settings(max_examples=300, deadline=None)
@given(now=instants, hours=schedules())
def test_next_window_start_is_the_earliest_open_instant(now, hours):
    start = next_window_start(now, hours)
    assume(start is not None)  # a schedule whose only windows sit inside gaps on its only day can fail to open
    assert start >= now
    assert start - now < timedelta(days=9)
    assert is_open(start, hours)
    if start > now:
        assert not is_open(start - timedelta(seconds=1), hours)
        step = (start - now) / 17
        assert not any(is_open(now + step * i, hours) for i in range(17))


@settings(max_examples=200, deadline=None)
@given(now=instants, zone=st.sampled_from(ZONES))
def test_default_hours_always_reopen_within_four_days(now, zone):
    start = next_window_start(now, DEFAULT, zone)
    assert start is not None
    assert now <= start < now + timedelta(days=4)
    local = start.astimezone(zoneinfo.ZoneInfo(zone))
    assert local.weekday() < 5
    assert 9 <= local.hour < 17


def test_window_in_the_repeated_hour_opens_again_on_the_second_pass():
    # New York, 2024-11-03: 01:00-02:00 happens twice. Asked between the two 01:30s, the second one is next.
    hours = hours_in("America/New_York", sun=[("01:30", "01:45")])
    start = next_window_start(utc("2024-11-03T05:50:00Z"), hours)
    assert start == utc("2024-11-03T06:30:00Z")


@lru_cache(maxsize=512)
def offset_changes(zone: str, year: int) -> tuple[datetime, ...]:
    """The instants (to the second) in ``year`` at which ``zone``'s UTC offset changes."""
    tz = zoneinfo.ZoneInfo(zone)
    found = []
    step = timedelta(hours=3)
    moment, end = datetime(year, 1, 1, tzinfo=UTC), datetime(year + 1, 1, 1, tzinfo=UTC)
    while moment < end:
        if moment.astimezone(tz).utcoffset() != (moment + step).astimezone(tz).utcoffset():
            low, high = moment, moment + step
            while high - low > timedelta(seconds=1):
                middle = low + (high - low) / 2
                if middle.astimezone(tz).utcoffset() == low.astimezone(tz).utcoffset():
                    low = middle
                else:
                    high = middle
            found.append(high.replace(microsecond=0))
        moment += step
    return tuple(found)


@st.composite
def local_times(draw):
    """A zone and a wall-clock time there, most often within three hours of one of its offset changes."""
    zone = draw(st.sampled_from(ZONES))
    year = draw(st.integers(min_value=1971, max_value=2037))
    changes = offset_changes(zone, year)
    if changes and draw(st.integers(0, 4)):
        change = draw(st.sampled_from(changes))
        around = change.astimezone(zoneinfo.ZoneInfo(zone)).replace(tzinfo=None)
        return zone, around + timedelta(seconds=draw(st.integers(-3 * 3600, 3 * 3600)))
    return zone, draw(st.datetimes(min_value=datetime(year, 1, 1), max_value=datetime(year, 12, 31)))


def wall(instant: datetime, zone: str) -> datetime:
    return instant.astimezone(zoneinfo.ZoneInfo(zone)).replace(tzinfo=None)


@settings(max_examples=500, deadline=None)
@given(local_times())
def test_a_local_time_is_its_first_instant_or_the_end_of_its_gap(zone_and_local):
    zone, local = zone_and_local
    local = local.replace(microsecond=0)

    instant = local_time_instant(local, zone)

    readings = [local.replace(tzinfo=zoneinfo.ZoneInfo(zone), fold=fold).astimezone(UTC) for fold in (0, 1)]
    existing = [reading for reading in readings if wall(reading, zone) == local]
    if existing:  # the wall clock reads this time once, or twice in a repeated hour: the first pass
        assert instant == min(existing)
    else:  # the clocks skip this time: the moment they jump past it
        assert wall(instant, zone) > local
    assert wall(instant - timedelta(seconds=1), zone) < local
    assert instant.microsecond == 0


def test_local_times_in_a_gap_and_in_a_repeated_hour():
    # New York, 2027-03-14 02:00 EST jumps to 03:00 EDT; 2027-11-07 02:00 EDT falls back to 01:00 EST.
    assert local_time_instant(datetime(2027, 3, 14, 2, 30), "America/New_York") == utc("2027-03-14T07:00:00Z")
    assert local_time_instant(datetime(2027, 11, 7, 1, 30), "America/New_York") == utc("2027-11-07T05:30:00Z")
    assert local_time_instant(datetime(2027, 5, 1, 9, 0), "Australia/Sydney") == utc("2027-04-30T23:00:00Z")


def test_a_holiday_closes_its_local_day_and_the_next_window_opens_after_it():
    from scheduled_comms.models.business_hours import Holiday, Holidays

    hours = BusinessHours(timezone="Europe/London")
    christmas = Holidays(holidays=[Holiday(date=date(2026, 12, 25)), Holiday(date=date(2026, 12, 28))])
    friday_morning = datetime(2026, 12, 25, 10, 0, tzinfo=UTC)  # Christmas Day, a Friday

    assert is_open(friday_morning, hours)
    assert not is_open(friday_morning, hours, holidays=christmas)
    # Monday the 28th is a holiday too: the next window is Tuesday's.
    assert next_window_start(friday_morning, hours, holidays=christmas) == datetime(2026, 12, 29, 9, 0, tzinfo=UTC)


def test_a_holiday_named_for_some_zones_closes_only_those():
    from scheduled_comms.models.business_hours import Holiday, Holidays

    hours = BusinessHours()
    only_sydney = Holidays(holidays=[Holiday(date=date(2027, 1, 26), timezones=["Australia/Sydney"])])
    sydney_morning = datetime(2027, 1, 25, 23, 0, tzinfo=UTC)  # 10:00 on the 26th in Sydney
    london_morning = datetime(2027, 1, 26, 10, 0, tzinfo=UTC)

    assert not is_open(sydney_morning, hours, "Australia/Sydney", only_sydney)
    assert is_open(london_morning, hours, "Europe/London", only_sydney)
    assert next_window_start(sydney_morning, hours, "Australia/Sydney", only_sydney) == datetime(
        2027, 1, 26, 22, 0, tzinfo=UTC
    )  # 09:00 on the 27th in Sydney


def test_a_long_closure_of_holidays_is_searched_past():
    from scheduled_comms.models.business_hours import Holiday, Holidays

    hours = BusinessHours()
    closure = Holidays(holidays=[Holiday(date=date(2026, 12, 21) + timedelta(days=n)) for n in range(21)])

    opens = next_window_start(datetime(2026, 12, 21, 8, 0, tzinfo=UTC), hours, holidays=closure)

    assert opens == datetime(2027, 1, 11, 9, 0, tzinfo=UTC)  # the first weekday after three weeks closed
