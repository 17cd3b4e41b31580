"""Frequency caps: at most N rows of a channel reach one address in a rolling window, counted exactly at send
time, with transactional rows exempt."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta

from scheduled_comms_local.lambda_host import scheduled_event

from tests.integration.conftest import soon, unique_email
from tests.integration.test_create import sms_body
from tests.integration.test_dispatch import email_now, fetch, schedule

CAPS = "/v1/settings/frequency-caps"


def set_caps(api, company, *caps: dict) -> None:
    reply = api.request("PUT", CAPS, company, {"caps": list(caps)})
    assert reply.status == 200, reply.text


def sms_to(number: str, **fields) -> dict:
    body = sms_body(scheduled_for=soon(1).isoformat(), respect_business_hours=False, **fields)
    body["payload"]["to_number"] = number
    return body


def test_rows_over_the_cap_are_held_until_the_window_frees_a_slot(api, make_company, ticker):
    company = make_company()
    set_caps(api, company, {"channel": "sms", "limit": 2, "window_hours": 24})
    number = "+14155550171"
    rows = [schedule(api, company, sms_to(number)) for _ in range(3)]
    exempt = schedule(api, company, sms_to(number, transactional=True))
    other = schedule(api, company, sms_to("+14155550172"))

    ticker.at(soon(5))

    found = [fetch(api, company, row["id"]) for row in rows]
    sent = [row for row in found if row["status"] == "dispatched"]
    (held,) = [row for row in found if row["status"] == "pending"]
    assert len(sent) == 2 and held["attempt_count"] == 0
    first_sent = min(datetime.fromisoformat(row["dispatched_at"]) for row in sent)
    assert datetime.fromisoformat(held["scheduled_for"]) == first_sent + timedelta(hours=24)
    assert fetch(api, company, exempt["id"])["status"] == "dispatched"
    assert fetch(api, company, other["id"])["status"] == "dispatched"

    ticker.at(datetime.fromisoformat(held["scheduled_for"]) + timedelta(seconds=1))
    assert fetch(api, company, held["id"])["status"] == "dispatched"


def test_a_row_whose_expiry_comes_before_a_free_slot_is_skipped(api, make_company, ticker):
    company = make_company()
    set_caps(api, company, {"channel": "sms", "limit": 1, "window_hours": 1})
    number = "+14155550173"
    first = schedule(api, company, sms_to(number))
    ticker.at(soon(5))
    late = schedule(api, company, sms_to(number, cancel_policy={"expire_after_minutes": 10}))

    ticker.at(soon(10))

    assert fetch(api, company, first["id"])["status"] == "dispatched"
    skipped = fetch(api, company, late["id"])
    assert skipped["status"] == "skipped" and skipped["skip_reason"].startswith("frequency_cap")


def test_transactional_emails_are_exempt_by_default_and_marketing_ones_are_capped(api, make_company, ticker):
    company = make_company()
    set_caps(api, company, {"channel": "email", "limit": 1, "window_hours": 24})
    address = unique_email()
    bodies = [email_now(), email_now(), email_now(), email_now()]
    for body in bodies:
        body["payload"]["to_email"] = address
    bodies[2]["payload"]["mode"] = bodies[3]["payload"]["mode"] = "marketing"
    rows = [schedule(api, company, body) for body in bodies]
    assert [row["transactional"] for row in rows] == [True, True, False, False]

    ticker.at(soon(5))

    statuses = [fetch(api, company, row["id"])["status"] for row in rows]
    assert statuses[:2] == ["dispatched", "dispatched"]
    assert sorted(statuses[2:]) == ["dispatched", "pending"]


def test_ten_overlapping_ticks_send_exactly_the_cap(api, make_company, ticker, isolated_tables):
    company = make_company()
    set_caps(api, company, {"channel": "sms", "limit": 3, "window_hours": 24})
    number = "+14155550174"
    rows = [schedule(api, company, sms_to(number)) for _ in range(12)]
    moment = soon(5)

    with ThreadPoolExecutor(max_workers=10) as pool:
        list(pool.map(lambda _: ticker.run(scheduled_event(moment, single_pass=True)).summary(), range(10)))

    statuses = [fetch(api, company, row["id"])["status"] for row in rows]
    assert statuses.count("dispatched") == 3
    assert statuses.count("pending") == 9


def test_caps_refuse_two_for_one_channel_and_bad_numbers(api, make_company):
    company = make_company()
    twice = {
        "caps": [{"channel": "sms", "limit": 1, "window_hours": 1}, {"channel": "sms", "limit": 2, "window_hours": 1}]
    }
    for body, field in (
        (twice, "caps[1].channel"),
        ({"caps": [{"channel": "sms", "limit": 0, "window_hours": 1}]}, "caps[0].limit"),
    ):
        reply = api.request("PUT", CAPS, company, body)
        assert reply.status == 422, reply.text
        assert [d["field"] for d in reply.json()["error"]["details"]] == [field]
    assert api.request("GET", CAPS, company).json()["data"] == {"caps": []}
