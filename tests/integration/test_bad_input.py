"""Bad input beyond the API suite: hostile bodies on every write route, boundary times, foreign cursors.

Every answer is below 500 with the service's error shape, and a refused request leaves the company's
rows, credits, business hours, numbers and voice configs exactly as they were.
"""

from __future__ import annotations

import base64
import calendar
import json
import socket
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import urllib3
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from scheduled_comms import composition
from scheduled_comms.logic.business_hours import local_time_instant
from scheduled_comms.models.values import format_instant, parse_client_time

from tests.integration.test_create import COLLECTION, email_body, sms_body

HYPOTHESIS = settings(deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
UNICODE_EDGES = [
    "\x00",  # NUL
    "\ud800",  # a lone surrogate (sent as its JSON escape)
    "\udfff\ud800",  # surrogates in the wrong order
    "\ufeff",  # byte-order mark
    "\u202e",  # right-to-left override
    "\u200b\u200d",  # zero-width space and joiner
    "\uffff\ufffe",  # noncharacters
    "\U0010ffff",  # the last code point
    "e\u0301" * 50,  # combining marks
    "\U0001f469\u200d\U0001f469\u200d\U0001f467",  # one emoji of five code points
    "\u2028\u2029\r\n",  # line and paragraph separators
    "Ω" * 20_000,  # long, and two bytes a character in UTF-8
]
CONTENT_TYPES = [
    "text/plain",
    "application/xml",
    "multipart/form-data; boundary=x",
    "application/x-www-form-urlencoded",
    "application/json; charset=utf-16",
    "application/jsonx",
    "json",
    "application/json, text/plain",
    "",
]


@pytest.fixture(scope="module")
def tenant(api, make_company):
    """A company with one pending row, one number and one voice config, and plenty of credits."""
    company = make_company(credits=1_000_000)
    row = api.request("POST", COLLECTION, company, email_body()).json()["data"]
    reply = api.request("POST", "/v1/phone-numbers", company, {"number": "+14155550123", "label": "main"})
    assert reply.status == 201, reply.text
    return company, row["id"]


def snapshot(api, company) -> dict[str, Any]:
    """Everything a write route can change, read back through the API and the ledger."""
    state: dict[str, Any] = {"credits": composition.credit_ledger().balance(company.id, consistent=True)}
    for path in (
        f"{COLLECTION}?limit=100",
        "/v1/settings/business-hours",
        "/v1/phone-numbers",
        "/v1/voice-agent-configs",
    ):
        reply = api.request("GET", path, company)
        assert reply.status == 200, reply.text
        state[path] = reply.json()
    return state


def assert_clean_refusal(reply) -> dict[str, Any]:
    assert reply.status < 500, reply.text[:500]
    error = reply.json()["error"] if reply.status >= 400 else None
    if error is not None:
        assert isinstance(error["code"], str) and error["message"], error
        assert all(set(detail) == {"field", "message"} for detail in error["details"]), error
    return error or {}


def _string_paths(value: Any, prefix: tuple = ()) -> list[tuple]:
    found: list[tuple] = []
    if isinstance(value, dict):
        for key, child in value.items():
            found += [(*prefix, key)] if isinstance(child, str) else _string_paths(child, (*prefix, key))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            found += [(*prefix, index)] if isinstance(child, str) else _string_paths(child, (*prefix, index))
    return found


def _replace(body: Any, path: tuple, value: Any) -> Any:
    target = body
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return body


def valid_bodies(row_id: str) -> dict[tuple[str, str], Any]:
    return {
        ("POST", COLLECTION): email_body,
        ("POST", COLLECTION + "#sms"): sms_body,
        ("PATCH", f"{COLLECTION}/{row_id}"): lambda: {
            "payload": {"subject": "New subject"},
            "timezone": "Europe/Paris",
        },
        ("PUT", "/v1/settings/business-hours"): lambda: {
            "timezone": "America/New_York",
            "windows": {"mon": [{"start": "09:00", "end": "17:00"}], "sat": [{"start": "10:00", "end": "24:00"}]},
        },
        ("POST", "/v1/phone-numbers"): lambda: {"number": "+14155550199", "label": "second"},
        ("POST", "/v1/voice-agent-configs"): lambda: {
            "name": "Agent",
            "endpoint_url": "https://voice.example.com/calls",
            "agent_id": "agent-7",
            "api_key": "sk-0123456789abcdef",
        },
    }


@st.composite
def hostile_requests(draw, row_id: str) -> tuple[str, str, str, dict[str, str]]:
    """(method, path, raw body, headers): one valid body spoiled in one of five ways."""
    routes = valid_bodies(row_id)
    method, route = draw(st.sampled_from(sorted(routes)))
    body = routes[(method, route)]()
    path = route.partition("#")[0]
    headers = {"Content-Type": "application/json"}
    kind = draw(st.sampled_from(["malformed", "deep", "huge", "unicode", "content-type"]))
    if kind == "malformed":
        text = json.dumps(body)
        spoil = draw(st.sampled_from(["truncate", "insert", "trail", "literal", "quotes", "bom"]))
        cut = draw(st.integers(1, len(text) - 1))
        raw = {
            "truncate": text[:cut],
            "insert": text[:cut] + draw(st.sampled_from(["\\", '"', "}", ",", ":", "\x00", "\\u12"])) + text[cut:],
            "trail": text + draw(st.sampled_from(["x", "}", "{}", "\n]"])),
            "literal": text[:-1]
            + ', "n": '
            + draw(st.sampled_from(["NaN", "Infinity", "-Infinity", "1e999999"]))
            + "}",
            "quotes": text.replace('"', "'"),
            "bom": "\ufeff" + text,
        }[spoil]
    elif kind == "deep":
        depth = draw(st.sampled_from([33, 64, 200, 1_000, 20_000, 100_000]))
        opener, closer = draw(st.sampled_from([("[", "]"), ('{"a": ', "}")]))
        target = draw(st.sampled_from(_string_paths(body)))
        raw = json.dumps(_replace(body, target, "@@")).replace('"@@"', opener * depth + "1" + closer * depth)
    elif kind == "huge":
        size = draw(st.sampled_from([70_000, 130_000, 1_000_000, 6_500_000]))
        target = draw(st.sampled_from(_string_paths(body)))
        raw = json.dumps(_replace(body, target, draw(st.sampled_from(["x", "é", "\U0001f600"])) * size))
    elif kind == "unicode":
        for _ in range(draw(st.integers(1, 3))):
            edge = draw(st.sampled_from(UNICODE_EDGES))
            if draw(st.booleans()):
                body = _replace(body, draw(st.sampled_from(_string_paths(body))), edge)
            else:
                body[edge] = "unexpected key"
        raw = json.dumps(body)  # ensure_ascii: lone surrogates travel as their \\u escapes
    else:
        raw = json.dumps(body)
        headers = {"Content-Type": draw(st.sampled_from(CONTENT_TYPES))} if draw(st.booleans()) else {}
    return method, path, raw, headers


@pytest.fixture(scope="module")
def last_state() -> dict[str, Any]:
    """The tenant's state as last read; a refusal leaves it as it was, so the next example starts from it."""
    return {}


@pytest.mark.slow
@settings(HYPOTHESIS, max_examples=250)
@given(data=st.data())
def test_hostile_bodies_on_every_write_route_are_refused_cleanly_and_write_nothing(api, tenant, last_state, data):
    company, row_id = tenant
    method, path, raw, headers = data.draw(hostile_requests(row_id))
    before = last_state.pop("state", None) or snapshot(api, company)

    reply = api.request(method, path, company, body=raw, headers=headers)

    assert_clean_refusal(reply)
    if reply.status >= 400:
        after = snapshot(api, company)
        assert after == before, (method, path, raw[:300], reply.text[:300])
        last_state["state"] = after


HORIZON = timedelta(days=366)
TODAY = datetime.now(UTC).replace(tzinfo=None, microsecond=0)
ISO_STYLES = ["offset", "z", "naive", "space", "date-only", "compact", "lowercase"]


def _render(moment: datetime, style: str) -> str:
    text = moment.isoformat()
    if style == "z" and moment.utcoffset() == timedelta(0):
        return moment.replace(tzinfo=None).isoformat() + "Z"
    return {
        "naive": moment.replace(tzinfo=None).isoformat(),
        "space": text.replace("T", " "),
        "date-only": moment.date().isoformat(),
        "compact": moment.strftime("%Y%m%dT%H%M%S") + (moment.strftime("%z") or ""),
        "lowercase": text.replace("T", "t"),
    }.get(style, text)


@settings(HYPOTHESIS, max_examples=300)
@given(
    moment=st.one_of(
        st.datetimes(min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30), timezones=st.timezones()),
        # Most of these fall within the year ahead that the API accepts. Local times inside a daylight-saving
        # gap, and in both passes of a repeated hour, are drawn too (allow_imaginary is on by default).
        st.datetimes(
            min_value=TODAY - timedelta(days=2), max_value=TODAY + timedelta(days=400), timezones=st.timezones()
        ),
    ),
    style=st.sampled_from(ISO_STYLES),
    field=st.sampled_from(["create", "patch"]),
)
def test_any_time_is_stored_as_its_utc_instant_or_refused_naming_the_field(api, tenant, moment, style, field):
    company, row_id = tenant
    text = _render(moment, style)
    now = datetime.now(UTC)
    try:
        given = parse_client_time(text)
    except ValueError:
        given = None
    # Kept to the second; a time without offset is local to the row's zone (email_body's, on create and patch).
    zone = email_body()["timezone"]
    instant = given if given is None or given.tzinfo else local_time_instant(given, zone)
    # Near "now" the one-minute grace decides, and the clock moves while the request runs.
    assume(instant is None or abs((instant - now).total_seconds()) > 120)
    assume(instant is None or abs((instant - now - HORIZON).total_seconds()) > 120)
    expected_ok = instant is not None and now < instant < now + HORIZON

    if field == "create":
        reply = api.request("POST", COLLECTION, company, email_body(scheduled_for=text))
    else:
        reply = api.request("PATCH", f"{COLLECTION}/{row_id}", company, {"scheduled_for": text})

    error = assert_clean_refusal(reply)
    if expected_ok:
        assert reply.status in (200, 201), (text, reply.text)
        answered = reply.json()["data"]["scheduled_for"]
        assert answered == format_instant(instant) and answered.endswith("+00:00") and "." not in answered
    else:
        assert reply.status == 422, (text, reply.text)
        assert [d["field"] for d in error["details"]] == ["scheduled_for"], error


def _transitions(zone: str, days: int = 366) -> tuple[datetime, datetime]:
    """The next daylight-saving start and end in ``zone``: the first instants on the new offset."""
    tz, start = ZoneInfo(zone), datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    found: dict[bool, datetime] = {}
    for hour in range(24 * days):
        before, after = start + timedelta(hours=hour), start + timedelta(hours=hour + 1)
        offset_before, offset_after = before.astimezone(tz).utcoffset(), after.astimezone(tz).utcoffset()
        if offset_before != offset_after:
            found.setdefault(offset_after > offset_before, after)  # type: ignore[operator]
    return found[True], found[False]


def _next_leap_day() -> datetime:
    year = datetime.now(UTC).year
    while not calendar.isleap(year) or datetime(year, 2, 29, tzinfo=UTC) < datetime.now(UTC):
        year += 1
    return datetime(year, 2, 29, 9, 0, tzinfo=UTC)


def boundary_times() -> list[tuple[str, str]]:
    """(text sent, instant stored) for edges within the next year, computed from today so they never go stale."""
    spring, autumn = _transitions("America/New_York")
    ahead = (datetime.now(UTC) + timedelta(days=30)).date().isoformat()
    year_ahead = datetime.now(UTC) + timedelta(days=365)
    cases = [
        # New York's skipped hour, named by the offset that was in force: the instant is well defined.
        (
            (spring - timedelta(minutes=30)).astimezone(ZoneInfo("America/New_York")).isoformat(),
            spring - timedelta(minutes=30),
        ),
        # Its repeated hour, first pass then second pass: two instants an hour apart.
        (
            (autumn - timedelta(minutes=30)).astimezone(ZoneInfo("America/New_York")).isoformat(),
            autumn - timedelta(minutes=30),
        ),
        (
            (autumn + timedelta(minutes=30)).astimezone(ZoneInfo("America/New_York")).isoformat(),
            autumn + timedelta(minutes=30),
        ),
        (f"{ahead}T12:00:00+14:00", datetime.fromisoformat(f"{ahead}T12:00:00+14:00")),  # the furthest-ahead offset
        (f"{ahead}T12:00:00-12:00", datetime.fromisoformat(f"{ahead}T12:00:00-12:00")),  # the furthest-behind
        (f"{ahead}T12:00:00.123456Z", datetime.fromisoformat(f"{ahead}T12:00:00+00:00")),  # kept to the second
        (year_ahead.isoformat(), year_ahead.replace(microsecond=0)),
    ]
    return [(text, instant.astimezone(UTC).isoformat()) for text, instant in cases]


def test_boundary_times_are_stored_as_their_instant(api, tenant):
    company, _ = tenant
    for text, stored in boundary_times():
        reply = api.request("POST", COLLECTION, company, email_body(scheduled_for=text))

        assert reply.status == 201, (text, reply.text)
        assert reply.json()["data"]["scheduled_for"] == stored, text


def test_the_next_leap_day_is_accepted_once_it_is_within_the_year_ahead(api, tenant):
    company, _ = tenant
    leap_day = _next_leap_day()
    text = leap_day.astimezone(ZoneInfo("Pacific/Kiritimati")).isoformat()  # 23:00 on the 29th, UTC+14

    reply = api.request("POST", COLLECTION, company, email_body(scheduled_for=text))

    if leap_day - datetime.now(UTC) < timedelta(days=366):
        assert reply.status == 201, reply.text
        assert reply.json()["data"]["scheduled_for"] == leap_day.isoformat()
    else:
        assert reply.status == 422, reply.text
        assert reply.json()["error"]["details"] == [
            {"field": "scheduled_for", "message": "must be within 366 days from now"}
        ]


@pytest.mark.parametrize(
    "text",
    [
        "2027-02-29T09:00:00Z",  # not a leap year
        "2028-02-30T09:00:00Z",
        "2030-06-31T12:00:00Z",
        "2030-06-01T24:00:00Z",
        "2030-06-01T23:59:60Z",  # a leap second
        "2030-06-01T12:00:00+24:00",
        "2030-06-01T12:00:00+14:01:00.5",
        "9998-12-31T23:59:59Z",  # far beyond the year ahead
        "9999-12-31T23:59:59Z",
        "+10000-01-01T00:00:00Z",
        "2030-06-01T12:00:00",  # a local time in the row's zone, beyond the year ahead
        "2030-06-01T12:00:00 America/New_York",
        "1969-12-31T23:59:59Z",
        "",
        "\uff12\uff10\uff13\uff10-06-01T12:00:00Z",  # full-width digits
    ],
)
def test_impossible_ambiguous_or_far_times_are_422_naming_the_field(api, tenant, text):
    company, _ = tenant
    before = snapshot(api, company)

    reply = api.request("POST", COLLECTION, company, email_body(scheduled_for=text))

    assert reply.status == 422, reply.text
    assert [d["field"] for d in reply.json()["error"]["details"]] == ["scheduled_for"]
    assert snapshot(api, company) == before


@pytest.fixture(scope="module")
def two_listers(api, make_company):
    """Two companies with three rows each, and a cursor of the first for every filter it lists by."""
    first, second = make_company(credits=10), make_company(credits=10)
    for company in (first, second):
        for _ in range(3):
            assert api.request("POST", COLLECTION, company, email_body()).status == 201
    return first, second


@settings(HYPOTHESIS, max_examples=120)
@given(
    filters=st.dictionaries(st.sampled_from(["status", "channel"]), st.sampled_from(["pending", "email"]), max_size=1),
    spoil=st.sampled_from(["none", "flip", "truncate", "swap-mac", "pad", "json"]),
    position=st.integers(0, 10_000),
)
def test_a_cursor_works_only_for_its_company_and_filters_and_never_leaks(api, two_listers, filters, spoil, position):
    first, second = two_listers
    query = "".join(f"&{k}={v}" for k, v in filters.items() if (k, v) in (("status", "pending"), ("channel", "email")))
    cursor = api.request("GET", f"{COLLECTION}?limit=1{query}", first).json()["meta"]["next_cursor"]
    assert cursor
    body, _, mac = cursor.partition(".")
    index = position % len(cursor)
    cursor = {
        "none": cursor,
        "flip": cursor[:index] + ("A" if cursor[index] != "A" else "B") + cursor[index + 1 :],
        "truncate": cursor[:index],
        "swap-mac": f"{body}.{mac[::-1]}",
        "pad": cursor + "=" * (1 + position % 3),
        "json": base64.urlsafe_b64encode(json.dumps({"c": second.id, "a": "x"}).encode()).decode() + "." + mac,
    }[spoil]

    foreign = api.request("GET", f"{COLLECTION}?limit=1{query}&cursor={cursor}", second)

    error = assert_clean_refusal(foreign)
    if foreign.status == 200:
        # Only a cursor that no longer carries a position reads from the start, and then only its own rows.
        assert all(row["company_id"] == second.id for row in foreign.json()["data"])
    else:
        assert foreign.status in (400, 422) and error["details"][0]["field"] == "cursor", error
    assert spoil != "none" or foreign.status == 400, "another company's genuine cursor is refused"


@pytest.mark.parametrize(
    ("raw", "content_type", "status"),
    [
        (b'{"channel": "email", "subject": "\xff\xfe"}', "application/json", 400),  # not UTF-8
        (b"\xc0\xaf", "application/json", 400),  # an overlong encoding
        (json.dumps(email_body()).encode("utf-16"), "application/json", 400),
        (b"{" + b" " * (6 * 1024 * 1024) + b"}", "application/json", 413),  # past API Gateway's 6 MB
    ],
    ids=["invalid-utf8", "overlong", "utf16", "over-6mb"],
)
def test_raw_bytes_over_http_are_refused_cleanly(live_api, make_company, raw, content_type, status):
    company = make_company()
    http = urllib3.PoolManager()

    reply = http.request(
        "POST",
        f"{live_api}{COLLECTION}",
        body=raw,
        headers={**company.auth, "Content-Type": content_type},
        retries=False,
    )

    assert reply.status == status, reply.data[:300]
    assert json.loads(reply.data)["error"]["message"]
    rows = http.request("GET", f"{live_api}{COLLECTION}", headers=company.auth)
    assert json.loads(rows.data)["data"] == []


@pytest.mark.parametrize(
    ("content_length", "body"),
    [(":", b""), ("-5", b""), ("1e3", b"{}"), ("100", b'{"channel": "email"}')],
    ids=["colon", "negative", "not-an-integer", "more-than-sent"],
)
def test_a_content_length_that_is_not_the_body_is_a_400(live_api, make_company, content_length, body):
    company = make_company()
    host, port = live_api.removeprefix("http://").split(":")
    request = (
        f"POST {COLLECTION} HTTP/1.1\r\nHost: {host}\r\nAuthorization: {company.auth['Authorization']}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {content_length}\r\n\r\n"
    ).encode() + body

    with socket.create_connection((host, int(port)), timeout=10) as connection:
        connection.sendall(request)
        status_line = connection.makefile("rb").readline()

    assert status_line.split()[1] == b"400", status_line
    http = urllib3.PoolManager()
    assert json.loads(http.request("GET", f"{live_api}{COLLECTION}", headers=company.auth).data)["data"] == []


def write_routes(row_id: str) -> list[tuple[str, str]]:
    """Every route that takes a body, the unauthenticated webhook included."""
    return [(method, path.partition("#")[0]) for method, path in valid_bodies(row_id)] + [
        ("POST", "/v1/webhooks/voice")
    ]


@pytest.mark.parametrize("digits", [4_301, 5_000, 100_000])
def test_an_integer_past_pythons_conversion_limit_is_a_422_on_every_write_route(api, tenant, digits):
    company, row_id = tenant
    before = snapshot(api, company)
    for method, path in write_routes(row_id):
        raw = '{"channel": "email", "n": ' + "9" * digits + "}"

        reply = api.request(method, path, company, body=raw, headers={"Content-Type": "application/json"})

        assert reply.status == 422, (path, reply.text[:300])
        assert reply.json()["error"]["details"] == [
            {"field": "body", "message": "holds a number of too many digits"}
        ], path
    assert snapshot(api, company) == before


@pytest.mark.slow
@settings(HYPOTHESIS, max_examples=300)
@given(
    raw=st.one_of(
        st.binary(max_size=300),
        st.text(max_size=200).map(lambda t: t.encode("utf-8", "surrogatepass")),
        st.recursive(
            st.integers(-(10**18), 10**18).map(str)
            | st.integers(4_290, 4_310).map(lambda n: "-" * (n % 2) + "7" * n)
            | st.sampled_from(['"x"', "1e999", "-0", "0.1e-999"]),
            lambda inner: st.lists(inner, max_size=3).map(lambda xs: "[" + ",".join(xs) + "]"),
            max_leaves=4,
        ).map(str.encode),
    ),
    route=st.integers(0, 6),
)
def test_the_decoder_answers_any_bytes_with_a_4xx_or_success_and_never_a_5xx(api, tenant, raw, route):
    company, row_id = tenant
    method, path = write_routes(row_id)[route]

    status, _, text = api.gateway.handle(method, path, {**company.auth, "Content-Type": "application/json"}, raw)

    assert status < 500, (raw[:100], text[:300])
    if status >= 400:
        error = json.loads(text)["error"]
        assert isinstance(error["code"], str) and error["message"], error
