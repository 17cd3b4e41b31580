"""Value types: instants, zones, phone numbers, uuids, emails, scalars, uuid7 ids."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st
from scheduled_comms.models.values import (
    check_e164,
    check_email,
    check_scalar,
    check_timezone,
    check_uuid,
    format_instant,
    new_id,
    parse_client_time,
    parse_instant,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-05-01T09:00:00Z", datetime(2026, 5, 1, 9, tzinfo=UTC)),
        ("2026-05-01T19:00:00+10:00", datetime(2026, 5, 1, 9, tzinfo=UTC)),
        ("2026-05-01T04:30:00-04:30", datetime(2026, 5, 1, 9, tzinfo=UTC)),
        ("2026-05-01T09:00:00.250+00:00", datetime(2026, 5, 1, 9, 0, 0, 250_000, tzinfo=UTC)),
    ],
)
def test_instants_with_offsets_become_utc(text, expected):
    assert parse_instant(text) == expected
    assert parse_instant(text).tzinfo is UTC


@pytest.mark.parametrize(
    "text", ["2026-05-01T09:00:00", "2026-05-01", "tomorrow", "", "2026-13-01T00:00:00Z", "x" * 100]
)
def test_naive_or_malformed_instants_are_refused(text):
    with pytest.raises(ValueError):
        parse_instant(text)


@pytest.mark.parametrize("value", [1767225600, 1.5, None, ["2026-05-01T09:00:00Z"]])
def test_non_string_instants_are_refused(value):
    with pytest.raises(ValueError, match="string"):
        parse_instant(value)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-05-01T09:00:00.999999Z", datetime(2026, 5, 1, 9, tzinfo=UTC)),
        ("2026-05-01T19:00:00.5+10:00", datetime(2026, 5, 1, 9, tzinfo=UTC)),
        ("2026-05-01T09:00:00", datetime(2026, 5, 1, 9)),
        ("2026-05-01T09:00:00.123456", datetime(2026, 5, 1, 9)),
        ("2026-05-01T09:00", datetime(2026, 5, 1, 9)),
    ],
)
def test_client_times_are_kept_to_the_second_and_naive_ones_stay_local(text, expected):
    parsed = parse_client_time(text)

    assert parsed == expected
    assert parsed.tzinfo is expected.tzinfo


@pytest.mark.parametrize("text", ["2026-05-01", "tomorrow", "", "1969-12-31T23:00:00", "9999-01-01T00:00:00", "x" * 41])
def test_malformed_or_far_client_times_are_refused(text):
    with pytest.raises(ValueError, match="ISO 8601"):
        parse_client_time(text)


@given(
    st.datetimes(
        min_value=datetime(1970, 1, 2),
        max_value=datetime(9998, 12, 30),
        timezones=st.sampled_from([UTC, timezone(timedelta(hours=5, minutes=45)), timezone(-timedelta(hours=11))]),
    )
)
def test_instant_text_round_trips(moment):
    assert parse_instant(format_instant(moment)) == moment


@given(st.lists(st.datetimes(timezones=st.just(UTC)), min_size=2, max_size=20))
def test_canonical_instant_text_sorts_like_the_instants(moments):
    """The due index sorts scheduled_for as text, so text order must be time order."""
    assert sorted(moments) == sorted(moments, key=format_instant)


def test_timezones_must_be_iana_names():
    assert check_timezone("Australia/Sydney") == "Australia/Sydney"
    for bad in ("Mars/Olympus", "australia/sydney", "../etc", "EST5EDT ", ""):
        with pytest.raises(ValueError):
            check_timezone(bad)


@pytest.mark.parametrize("number", ["+61412345678", "+14155550123", "+447911123456"])
def test_valid_e164_numbers(number):
    assert check_e164(number) == number


@pytest.mark.parametrize(
    "number", ["0412345678", "+61 412 345 678", "+999123", "+1", "+6141234567890123", "+61-412-345-678"]
)
def test_invalid_e164_numbers(number):
    with pytest.raises(ValueError):
        check_e164(number)


def test_uuids_are_canonicalised():
    assert check_uuid("60B5889E-C8E1-4273-836E-67A3F0B3231A") == "60b5889e-c8e1-4273-836e-67a3f0b3231a"
    with pytest.raises(ValueError):
        check_uuid("abc123...")


def test_emails():
    assert check_email("client@example.com") == "client@example.com"
    for bad in ("client", "a@", "@example.com", "a b@example.com"):
        with pytest.raises(ValueError):
            check_email(bad)


@pytest.mark.parametrize("value", ["x", 1, 2.5, True, None, "y" * 1000])
def test_scalars_accepted(value):
    assert check_scalar(value) == value


@pytest.mark.parametrize("value", [{"a": 1}, [1], float("nan"), float("inf"), "y" * 1001])
def test_scalars_refused(value):
    with pytest.raises(ValueError):
        check_scalar(value)


def test_new_ids_are_uuid7_and_sort_by_creation_time():
    base = datetime(2026, 1, 1, tzinfo=UTC)
    ids = [new_id(base + timedelta(milliseconds=i)) for i in range(200)]
    assert all(uuid.UUID(i).version == 7 for i in ids)
    assert ids == sorted(ids)
    assert len(set(ids)) == len(ids)


def test_storable_numbers_are_those_boto3_can_send_to_dynamodb():
    from boto3.dynamodb.types import DYNAMODB_CONTEXT
    from scheduled_comms.models.values import DYNAMODB_NUMBERS

    limits = ("prec", "Emin", "Emax", "rounding", "capitals", "clamp")
    assert {name: getattr(DYNAMODB_NUMBERS, name) for name in limits} == {
        name: getattr(DYNAMODB_CONTEXT, name) for name in limits
    }
    assert {trap for trap, on in DYNAMODB_NUMBERS.traps.items() if on} == {
        trap for trap, on in DYNAMODB_CONTEXT.traps.items() if on
    }
