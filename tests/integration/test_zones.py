"""A row's zone and its times: the zone shown is the one used, with where it comes from; a time without an
offset is a local time in that zone (daylight-saving gaps and repeated hours resolved as business hours
resolve them); a time the client gives is kept to the second."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from scheduled_comms import composition

from tests.integration.test_bad_input import _transitions
from tests.integration.test_create import COLLECTION, email_body, stored_rows
from tests.integration.test_rows import raw_item


def local_day(days: int = 30) -> str:
    return (datetime.now(UTC) + timedelta(days=days)).date().isoformat()


def instant_of(local: str, zone: str) -> str:
    """The UTC instant of a local time that exists once (away from daylight-saving changes)."""
    return datetime.fromisoformat(local).replace(tzinfo=ZoneInfo(zone)).astimezone(UTC).isoformat()


def without_timezone(**overrides) -> dict:
    body = email_body(**overrides)
    del body["timezone"]
    return body


def test_a_row_without_timezone_shows_the_company_zone_it_follows(api, make_company):
    company = make_company()
    mine = api.request("POST", COLLECTION, company, email_body()).json()["data"]
    following = api.request("POST", COLLECTION, company, without_timezone()).json()["data"]
    before = (following["timezone"], following["timezone_source"])

    api.request("PUT", "/v1/settings/business-hours", company, {"timezone": "Asia/Tokyo"})
    got = api.request("GET", f"{COLLECTION}/{following['id']}", company).json()["data"]
    listed = {row["id"]: row for row in api.request("GET", COLLECTION, company).json()["data"]}

    assert before == ("UTC", "company_default")  # no business hours set: the default zone
    assert (got["timezone"], got["timezone_source"]) == ("Asia/Tokyo", "company_default")
    assert (listed[following["id"]]["timezone"], listed[following["id"]]["timezone_source"]) == (
        "Asia/Tokyo",
        "company_default",
    )
    assert (listed[mine["id"]]["timezone"], listed[mine["id"]]["timezone_source"]) == ("Australia/Sydney", "request")
    assert "timezone" not in raw_item(company.id, following["id"])  # it follows the company, whatever its zone


def test_a_time_without_offset_is_local_to_the_rows_zone_else_the_companys(api, make_company):
    company = make_company()
    api.request("PUT", "/v1/settings/business-hours", company, {"timezone": "America/Chicago"})
    local = f"{local_day()}T09:00:00"

    own_zone = api.request("POST", COLLECTION, company, email_body(scheduled_for=local))
    company_zone = api.request("POST", COLLECTION, company, without_timezone(scheduled_for=local))

    assert own_zone.status == 201, own_zone.text
    assert own_zone.json()["data"]["scheduled_for"] == instant_of(local, "Australia/Sydney")
    assert company_zone.status == 201, company_zone.text
    assert company_zone.json()["data"]["scheduled_for"] == instant_of(local, "America/Chicago")
    assert company_zone.json()["data"]["timezone"] == "America/Chicago"


def test_a_time_without_offset_and_without_any_zone_is_a_422_that_writes_nothing(api, make_company):
    company = make_company(credits=3)

    reply = api.request("POST", COLLECTION, company, without_timezone(scheduled_for=f"{local_day()}T09:00:00"))

    assert reply.status == 422, reply.text
    assert [d["field"] for d in reply.json()["error"]["details"]] == ["scheduled_for"]
    assert "timezone" in reply.json()["error"]["details"][0]["message"]
    assert stored_rows(company.id) == []
    assert composition.credit_ledger().balance(company.id, consistent=True) == 3


def test_local_times_in_a_gap_and_in_a_repeated_hour_resolve_as_business_hours_do(api, make_company):
    company = make_company()
    zone = "America/New_York"
    spring, autumn = _transitions(zone)  # the first instants on the new offset
    skipped = f"{spring.astimezone(ZoneInfo(zone)).date().isoformat()}T02:30:00"  # 02:00-03:00 never happens
    repeated = f"{autumn.astimezone(ZoneInfo(zone)).date().isoformat()}T01:30:00"  # 01:00-02:00 happens twice

    in_gap = api.request("POST", COLLECTION, company, email_body(scheduled_for=skipped, timezone=zone))
    in_fold = api.request("POST", COLLECTION, company, email_body(scheduled_for=repeated, timezone=zone))

    assert in_gap.status == 201, in_gap.text
    assert in_gap.json()["data"]["scheduled_for"] == spring.isoformat()  # when the clocks jump past it
    assert in_fold.status == 201, in_fold.text
    assert in_fold.json()["data"]["scheduled_for"] == (autumn - timedelta(minutes=30)).isoformat()  # first pass


def test_patch_reads_a_time_without_offset_in_the_zone_the_row_will_have(api, make_company):
    company = make_company()
    row = api.request("POST", COLLECTION, company, email_body()).json()["data"]  # Australia/Sydney
    local = f"{local_day(40)}T10:15:00"
    path = f"{COLLECTION}/{row['id']}"

    kept_zone = api.request("PATCH", path, company, {"scheduled_for": local})
    new_zone = api.request("PATCH", path, company, {"scheduled_for": local, "timezone": "Europe/Paris"})

    assert kept_zone.json()["data"]["scheduled_for"] == instant_of(local, "Australia/Sydney")
    assert new_zone.json()["data"]["scheduled_for"] == instant_of(local, "Europe/Paris")
    assert (new_zone.json()["data"]["timezone"], new_zone.json()["data"]["timezone_source"]) == (
        "Europe/Paris",
        "request",
    )


def test_a_time_the_client_gives_comes_back_as_given_to_the_second(api, make_company):
    company = make_company()
    day = local_day()

    exact = api.request("POST", COLLECTION, company, email_body(scheduled_for=f"{day}T09:30:00Z")).json()["data"]
    fraction = api.request(
        "POST", COLLECTION, company, email_body(scheduled_for=f"{day}T09:30:00.654321+00:00")
    ).json()["data"]
    patched = api.request(
        "PATCH", f"{COLLECTION}/{exact['id']}", company, {"scheduled_for": f"{day}T11:45:10.5Z"}
    ).json()["data"]

    assert exact["scheduled_for"] == fraction["scheduled_for"] == f"{day}T09:30:00+00:00"
    assert patched["scheduled_for"] == f"{day}T11:45:10+00:00"
    assert raw_item(company.id, fraction["id"])["scheduled_for"]["S"] == f"{day}T09:30:00+00:00"
