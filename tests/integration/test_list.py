"""GET /v1/scheduled-communications: filters, pagination and signed cursors."""

from __future__ import annotations

import base64
import itertools
import json

import pytest

from tests.integration.test_create import COLLECTION, email_body, sms_body, voice_body
from tests.integration.test_rows import create

CONTACTS = ["3b0c7f38-8d0b-4f0e-a7a5-2a4c2b1e9d11", "4c1d8049-9e1c-4a1f-b8b6-3b5d3c2f0e22"]
DEAL = "5d2e915a-af2d-4b20-89c7-4c6e4d3a1f33"
CUSTOMER = "6e3fa26b-b03e-4c31-9ad8-5d7f5e4b2a44"


def list_all(api, company, query: str = "", limit: int = 7) -> list[dict]:
    """Every page of a query, following next_cursor; asserts each page's shape on the way."""
    rows, cursor, pages = [], None, 0
    while True:
        url = f"{COLLECTION}?limit={limit}{query}" + (f"&cursor={cursor}" if cursor else "")
        reply = api.request("GET", url, company)
        assert reply.status == 200, reply.text
        body = reply.json()
        assert len(body["data"]) <= limit
        assert body["meta"]["limit"] == limit
        rows.extend(body["data"])
        cursor = body["meta"]["next_cursor"]
        pages += 1
        if cursor is None:
            return rows
        assert pages < 200


@pytest.fixture(scope="module")
def seeded(api, make_company):
    """23 rows over three channels, two contacts, some with deal/customer, some cancelled."""
    company = make_company(credits=100)
    made = []
    for i in range(23):
        builder = (email_body, sms_body, voice_body)[i % 3]
        extra = {"contact_id": CONTACTS[i % 2]}
        if i % 4 == 0:
            extra["deal_id"] = DEAL
        if i % 5 == 0:
            extra["customer_id"] = CUSTOMER
        row = create(api, company, builder(**extra))
        if i % 6 == 0:
            assert api.request("DELETE", f"{COLLECTION}/{row['id']}", company).status == 204
            row = {**row, "status": "cancelled"}
        made.append(row)
    return company, made


def test_every_page_newest_first_without_gaps_or_duplicates(api, seeded):
    company, made = seeded

    rows = list_all(api, company, limit=5)

    assert [r["id"] for r in rows] == [r["id"] for r in reversed(made)]


def test_default_limit_is_25_and_last_page_has_null_cursor(api, seeded):
    company, _ = seeded

    body = api.request("GET", COLLECTION, company).json()

    assert body["meta"]["limit"] == 25
    assert len(body["data"]) == 23
    assert body["meta"]["next_cursor"] is None
    assert body["meta"]["credits_remaining"] == 77


def test_exact_multiple_of_the_limit_ends_without_an_empty_page(api, make_company):
    company = make_company()
    for _ in range(4):
        create(api, company)

    first = api.request("GET", f"{COLLECTION}?limit=2", company).json()
    second = api.request("GET", f"{COLLECTION}?limit=2&cursor={first['meta']['next_cursor']}", company).json()

    assert len(second["data"]) == 2
    assert second["meta"]["next_cursor"] is None


FILTERS = {
    "status": ["pending", "cancelled", "dispatched"],
    "channel": ["email", "sms", "voice_call"],
    "contact_id": CONTACTS,
    "deal_id": [DEAL],
    "customer_id": [CUSTOMER],
}


def _combinations():
    names = list(FILTERS)
    for size in (1, 2, 3):
        for chosen in itertools.combinations(names, size):
            values = [FILTERS[name][0] for name in chosen]
            yield dict(zip(chosen, values, strict=True))
    yield {"status": "cancelled", "channel": "email", "contact_id": CONTACTS[0], "deal_id": DEAL}
    yield {"channel": "voice_call", "contact_id": CONTACTS[1]}


@pytest.mark.parametrize("filters", list(_combinations()), ids=lambda f: ",".join(f"{k}={v[:8]}" for k, v in f.items()))
def test_filters_combine_and_paginate(api, seeded, filters):
    company, made = seeded
    query = "".join(f"&{k}={v}" for k, v in filters.items())

    rows = list_all(api, company, query, limit=3)

    expected = [r["id"] for r in reversed(made) if all(r.get(k) == v for k, v in filters.items())]
    assert [r["id"] for r in rows] == expected


def test_other_companies_rows_never_appear(api, seeded, make_company):
    company, made = seeded
    other = make_company()
    create(api, other)

    assert {r["id"] for r in list_all(api, company)} == {r["id"] for r in made}
    assert len(list_all(api, other)) == 1


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("limit=0", "limit"),
        ("limit=101", "limit"),
        ("limit=ten", "limit"),
        ("status=sent", "status"),
        ("channel=fax", "channel"),
        ("contact_id=abc", "contact_id"),
        ("deal_id=1", "deal_id"),
        ("customer_id=x", "customer_id"),
        ("colour=blue", "colour"),
    ],
)
def test_bad_query_parameters_are_422(api, make_company, query, field):
    company = make_company()

    reply = api.request("GET", f"{COLLECTION}?{query}", company)

    assert reply.status == 422, reply.text
    assert field in [d["field"] for d in reply.json()["error"]["details"]]


def _first_cursor(api, company, query=""):
    body = api.request("GET", f"{COLLECTION}?limit=2{query}", company).json()
    assert body["meta"]["next_cursor"]
    return body["meta"]["next_cursor"]


def test_tampered_cursor_is_400(api, seeded):
    company, made = seeded
    cursor = _first_cursor(api, company)
    body_part, mac = cursor.split(".")
    decoded = json.loads(base64.urlsafe_b64decode(body_part + "=" * (-len(body_part) % 4)))
    assert decoded["a"] != made[0]["id"]
    forged_body = base64.urlsafe_b64encode(json.dumps({**decoded, "a": made[0]["id"]}).encode()).rstrip(b"=").decode()

    for bad in (
        f"{forged_body}.{mac}",
        cursor[:-2] + ("AA" if not cursor.endswith("AA") else "BB"),
        "garbage",
        "a.b.c",
    ):
        reply = api.request("GET", f"{COLLECTION}?limit=2&cursor={bad}", company)
        assert reply.status == 400, bad
        assert reply.json()["error"]["code"] == "invalid_cursor"
        assert reply.json()["error"]["details"][0]["field"] == "cursor"


def test_cursor_is_bound_to_its_filters_and_company(api, seeded, make_company):
    company, _ = seeded
    cursor = _first_cursor(api, company, "&status=pending")

    other_filters = api.request("GET", f"{COLLECTION}?limit=2&status=cancelled&cursor={cursor}", company)
    other_company = api.request("GET", f"{COLLECTION}?limit=2&status=pending&cursor={cursor}", make_company())
    same = api.request("GET", f"{COLLECTION}?limit=2&status=pending&cursor={cursor}", company)

    assert other_filters.status == 400
    assert other_company.status == 400
    assert same.status == 200


def test_list_needs_read_scope(api, make_company):
    company = make_company(scopes=("dispatcher:write", "email:send"))

    reply = api.request("GET", COLLECTION, company)

    assert reply.status == 403
    assert "dispatcher:read" in reply.json()["error"]["message"]


def test_sparse_filters_stop_reading_early_and_resume(api, make_company, isolated_tables, monkeypatch):
    """When a filter matches little of what its index reads, a page ends early with a cursor."""
    from scheduled_comms.adapters.dynamodb import communications as dynamodb

    company = make_company(credits=300)
    contact = CONTACTS[0]
    made = [create(api, company, sms_body(contact_id=contact)) for _ in range(130)]
    for row in made[5::60]:
        assert api.request("DELETE", f"{COLLECTION}/{row['id']}", company).status == 204
    monkeypatch.setattr(dynamodb, "MAX_QUERY_PAGES_PER_LIST", 1)

    first = api.request("GET", f"{COLLECTION}?contact_id={contact}&status=cancelled&limit=5", company).json()
    rows = list_all(api, company, f"&contact_id={contact}&status=cancelled", limit=5)

    assert first["meta"]["next_cursor"] is not None
    assert len(first["data"]) < 3
    assert [r["id"] for r in rows] == [r["id"] for r in reversed(made[5::60])]


def test_a_status_filter_reads_every_partition_in_bounded_steps_and_misses_nothing(
    api, make_company, isolated_tables, monkeypatch
):
    """A company's rows are spread over partitions; a rare status is found in all of them, newest first."""
    from scheduled_comms.adapters.dynamodb import communications as dynamodb
    from scheduled_comms.adapters.dynamodb.items import ROW_PARTITIONS

    company = make_company(credits=400)
    made = [create(api, company, sms_body()) for _ in range(260)]
    cancelled = made[3::50]
    for row in cancelled:
        assert api.request("DELETE", f"{COLLECTION}/{row['id']}", company).status == 204
    monkeypatch.setattr(dynamodb, "MAX_QUERY_PAGES_PER_LIST", 2)
    monkeypatch.setattr(dynamodb, "FILTERED_PAGE_SIZE", 10)  # about 33 rows per partition: several pages each
    reads: list[str] = []
    from scheduled_comms.adapters.aws import client

    def count(**_: object) -> None:
        reads.append("query")

    events = client("dynamodb").meta.events
    events.register("before-call.dynamodb.Query", count)
    try:
        first = api.request("GET", f"{COLLECTION}?status=cancelled&limit=3", company).json()
    finally:
        events.unregister("before-call.dynamodb.Query", count)
    rows = list_all(api, company, "&status=cancelled", limit=3)

    assert len(first["data"]) < 3 and first["meta"]["next_cursor"] is not None, "the page ended early"
    assert len(reads) == ROW_PARTITIONS + 1, "a first page per partition, then the one more page allowed"
    assert [r["id"] for r in rows] == [r["id"] for r in reversed(cancelled)]
    assert all(r["status"] == "cancelled" for r in rows)


def test_pages_merge_the_partitions_newest_first_without_gaps_or_repeats(api, make_company, isolated_tables):
    company = make_company(credits=100)
    made = [create(api, company) for _ in range(45)]

    rows = list_all(api, company, limit=4)

    assert [r["id"] for r in rows] == [r["id"] for r in reversed(made)]
