"""A payload too big to ride inside its row lives in an item of its own, written once, and is read back
wherever the row is: get, lists, PATCH, the tick's send, the stream's events."""

from __future__ import annotations

import random

import boto3
from scheduled_comms.adapters.dynamodb.items import BODY_SUFFIX, row_key
from scheduled_comms.settings import get_settings

from tests.integration.conftest import soon, unique_email
from tests.integration.test_create import COLLECTION, CONTACT, email_body, stored_rows
from tests.integration.test_dispatch import fetch, schedule
from tests.integration.test_list import list_all

WORDS = [
    "send",
    "reminder",
    "quote",
    "project",
    "renewal",
    "invoice",
    "schedule",
    "meeting",
    "contact",
    "client",
    "follow",
    "update",
]


def big_html(size: int = 50_000, seed: int = 3) -> str:
    rng = random.Random(seed)
    return "<p>" + " ".join(rng.choice(WORDS) + str(rng.randint(0, 9999)) for _ in range(size // 10))[:size] + "</p>"


def big_email(**overrides) -> dict:
    body = email_body(scheduled_for=soon(1).isoformat(), respect_business_hours=False, **overrides)
    body["payload"].update(to_email=unique_email(), html_body=big_html())
    return body


def items_of(company_id: str, row_id: str) -> dict[str, dict]:
    found = boto3.client("dynamodb").query(
        TableName=get_settings().communications_table,
        KeyConditionExpression="pk = :pk AND begins_with(sk, :sk)",
        ExpressionAttributeValues={":pk": row_key(company_id, row_id)["pk"], ":sk": {"S": f"SC#{row_id}"}},
    )["Items"]
    return {item["sk"]["S"]: item for item in found}


def item_bytes(item: dict) -> int:
    def size(value: dict) -> int:
        ((kind, inner),) = value.items()
        return len(inner) if kind in ("B", "S") else 8

    return sum(len(name) + size(value) for name, value in item.items())


def test_a_50_kb_email_keeps_a_row_of_one_write_unit_and_its_payload_apart(api, make_company):
    company = make_company()
    body = big_email()

    row = schedule(api, company, body)

    items = items_of(company.id, row["id"])
    assert set(items) == {f"SC#{row['id']}", f"SC#{row['id']}{BODY_SUFFIX}"}
    assert item_bytes(items[f"SC#{row['id']}"]) <= 1024, "claims and finishes rewrite this item: one write unit"
    assert "expires_at" in items[f"SC#{row['id']}{BODY_SUFFIX}"], "the payload item expires on its own"
    assert row["payload"]["html_body"] == body["payload"]["html_body"]
    assert fetch(api, company, row["id"])["payload"] == row["payload"]


def test_lists_read_payloads_kept_apart_by_partition_and_by_index(api, make_company, isolated_tables):
    company = make_company()
    rows = [schedule(api, company, big_email()) for _ in range(3)] + [schedule(api, company, email_body())]

    everything = list_all(api, company, limit=2)
    by_contact = list_all(api, company, f"&contact_id={CONTACT}", limit=2)

    for listed in (everything, by_contact):
        assert {r["id"]: r["payload"] for r in listed} == {r["id"]: r["payload"] for r in rows}


def test_a_patch_rewrites_the_payload_item_and_the_tick_sends_the_whole_body(api, make_company, ticker):
    from moto.ses.models import ses_backends

    company = make_company()
    row = schedule(api, company, big_email())
    new_html = big_html(seed=9)
    patched = api.request(
        "PATCH", f"{COLLECTION}/{row['id']}", company, {"payload": {**row["payload"], "html_body": new_html}}
    )
    assert patched.status == 200, patched.text

    ticker.at(soon(5))

    data = fetch(api, company, row["id"])
    assert data["status"] == "dispatched"
    assert data["payload"]["html_body"] == new_html
    sent = [
        m for m in ses_backends["123456789012"]["us-east-1"].sent_messages if m.id == data["dispatched_external_id"]
    ]
    assert [m.body for m in sent] == [new_html]
    assert set(stored_rows(company.id)[0]) >= {"body_bytes"}
