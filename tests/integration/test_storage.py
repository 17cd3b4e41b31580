"""What is stored: the sparse, sharded due index; queries only (no scans); credits under concurrency."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import boto3
import pytest
from scheduled_comms.composition import credit_ledger
from scheduled_comms.settings import get_settings

from tests.integration.test_create import COLLECTION, email_body, future, sms_body, stored_rows
from tests.integration.test_rows import create


def due_index_ids(shard_count: int) -> list[str]:
    client = boto3.client("dynamodb")
    ids = []
    for shard in range(shard_count):
        items = client.query(
            TableName=get_settings().communications_table,
            IndexName="Due",
            KeyConditionExpression="due_shard = :s",
            ExpressionAttributeValues={":s": {"S": f"pending#{shard}"}},
        )["Items"]
        ids.extend(item["sk"]["S"].removeprefix("SC#") for item in items)
    return ids


def test_only_pending_rows_are_in_the_due_index_spread_over_shards(api, make_company, isolated_tables):
    company = make_company()
    rows = [create(api, company) for _ in range(40)]
    cancelled = rows[:5]
    for row in cancelled:
        assert api.request("DELETE", f"{COLLECTION}/{row['id']}", company).status == 204

    shards = get_settings().due_shard_count
    indexed = set(due_index_ids(shards))

    mine = {row["id"] for row in rows}
    assert indexed & mine == mine - {row["id"] for row in cancelled}
    used = {item["due_shard"]["S"] for item in stored_rows(company.id) if "due_shard" in item}
    assert len(used) > shards // 2, "rows should spread over the shards"


def test_api_reads_use_queries_and_gets_never_scans(api, make_company):
    company = make_company()
    row = create(api, company)
    calls: list[str] = []

    def record(event_name: str, **_: object) -> None:
        calls.append(event_name.rsplit(".", 1)[-1])

    from scheduled_comms.adapters.aws import client

    events = client("dynamodb").meta.events
    events.register("before-call.dynamodb", record)
    try:
        for query in ("", "?status=pending", "?channel=email&contact_id=" + email_body()["contact_id"]):
            assert api.request("GET", f"{COLLECTION}{query}", company).status == 200
        assert api.request("GET", f"{COLLECTION}/{row['id']}", company).status == 200
    finally:
        events.unregister("before-call.dynamodb", record)

    assert "Scan" not in calls
    assert "Query" in calls


def test_concurrent_creates_never_overspend_credits(api, make_company):
    company = make_company(credits=15)

    with ThreadPoolExecutor(max_workers=8) as pool:
        statuses = list(pool.map(lambda _: api.request("POST", COLLECTION, company, sms_body()).status, range(40)))

    assert statuses.count(201) == 15
    assert statuses.count(402) == 25
    assert len(stored_rows(company.id)) == 15
    assert credit_ledger().balance(company.id) == 0


def test_concurrent_retries_with_one_idempotency_key_create_one_row(api, make_company):
    company = make_company(credits=50)
    body = email_body()

    def post(_: int) -> tuple[int, str]:
        reply = api.request("POST", COLLECTION, company, body, headers={"Idempotency-Key": "same"})
        return reply.status, reply.json().get("data", {}).get("id", "")

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(post, range(16)))

    created = {row_id for status, row_id in results if status == 201}
    assert len(created) == 1
    assert {status for status, _ in results} <= {201, 409}
    assert len(stored_rows(company.id)) == 1
    assert credit_ledger().balance(company.id) == 49


def test_concurrent_requests_of_two_companies_never_see_each_other(api, make_company):
    first, second = make_company(credits=40), make_company(credits=40)

    def work(company):
        seen = set()
        for _ in range(10):
            created = api.request("POST", COLLECTION, company, email_body())
            assert created.status == 201
            seen |= {row["id"] for row in api.request("GET", COLLECTION, company).json()["data"]}
        return seen

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(work, [first, second] * 2))

    mine = {c.id: {r["sk"]["S"].removeprefix("SC#") for r in stored_rows(c.id)} for c in (first, second)}
    assert results[0] | results[2] == mine[first.id]
    assert results[1] | results[3] == mine[second.id]
    assert not mine[first.id] & mine[second.id]


def lose_first_answer(monkeypatch, operation: str) -> list[str]:
    """moto applies the first ``operation`` request, then its answer is lost (a 500): botocore resends it."""
    from moto.core.botocore_stubber import BotocoreStubber

    from tests.integration.test_fault_injection import dynamodb_error

    moto_answer = BotocoreStubber.__call__
    seen: list[str] = []

    def answer(self, event_name, request, **kwargs):
        response = moto_answer(self, event_name, request, **kwargs)
        if event_name == f"before-send.dynamodb.{operation}":
            seen.append(event_name)
            if len(seen) == 1:
                return dynamodb_error(500, "InternalServerError", "The answer was lost")
        return response

    monkeypatch.setattr(BotocoreStubber, "__call__", answer)
    return seen


@pytest.mark.parametrize("credits", [5, 1])
@pytest.mark.parametrize(
    ("operation", "key"),
    [
        ("TransactWriteItems", "k"),  # with an Idempotency-Key: one transaction
        ("UpdateItem", None),  # without: the credit's spend ...
        ("PutItem", None),  # ... beside the row's put
    ],
)
def test_a_create_whose_first_answer_was_lost_answers_its_row_once(
    api, make_company, monkeypatch, credits, operation, key
):
    company = make_company(credits=credits)
    attempts = lose_first_answer(monkeypatch, operation)

    reply = api.request("POST", COLLECTION, company, email_body(), headers={"Idempotency-Key": key} if key else None)

    assert len(attempts) == 2, f"botocore resent the {operation}"
    assert reply.status == 201, reply.text
    assert [item["sk"]["S"] for item in stored_rows(company.id)] == [f"SC#{reply.json()['data']['id']}"]
    assert credit_ledger().balance(company.id, consistent=True) == credits - 1
    assert reply.json()["meta"]["credits_remaining"] == credits - 1


def test_terminal_rows_expire_after_the_retention_and_live_rows_never(api, make_company, ticker):
    from datetime import datetime, timedelta

    from tests.integration.conftest import soon
    from tests.integration.test_dispatch import email_now, fetch

    company = make_company()
    kept = create(api, company, email_body())
    cancelled = create(api, company, email_body())
    sent = create(api, company, email_now())
    assert api.request("DELETE", f"{COLLECTION}/{cancelled['id']}", company).status == 204
    ticker.at(soon(5))
    items = {item["sk"]["S"].removeprefix("SC#"): item for item in stored_rows(company.id)}
    retention = timedelta(days=get_settings().retention_days)

    assert "expires_at" not in items[kept["id"]], "a pending row is never deleted"
    for row_id in (cancelled["id"], sent["id"]):
        row = fetch(api, company, row_id)
        assert row["status"] in ("cancelled", "dispatched")
        expires = datetime.fromisoformat(row["updated_at"]) + retention
        assert int(items[row_id]["expires_at"]["N"]) == int(expires.timestamp())
        assert "expires_at" not in row, "the TTL attribute is storage, not part of the row"


def test_one_company_s_rows_spread_over_several_partition_keys(api, make_company, isolated_tables):
    """A burst of one company's rows (claimed and finished in the same seconds) must not share one partition."""
    from scheduled_comms.adapters.dynamodb.items import ROW_PARTITIONS

    company = make_company()
    for _ in range(48):
        create(api, company)

    keys = {item["pk"]["S"] for item in stored_rows(company.id)}

    assert len(keys) >= ROW_PARTITIONS - 1
    assert all(key.startswith(f"CO#{company.id}#") for key in keys)


def test_concurrent_creates_of_every_kind_spend_each_credit_once(api, make_company):
    """Rows due now (their credit spent before they are written) and later (spent beside their write), with
    and without an Idempotency-Key, with payloads inside the row and in an item of their own: when the
    credits run out, the refused creates leave nothing behind and every stored row spent exactly one."""
    import random as _random

    company = make_company(credits=24)
    noise = _random.Random(5)
    long_html = "<p>" + "".join(noise.choice("abcdefghijklmnopqrstuvwxyz ") for _ in range(3000)) + "</p>"

    def post(index: int) -> int:
        body = email_body(scheduled_for=future(0 if index % 3 == 0 else 24))
        if index % 2:
            body["payload"] = {**body["payload"], "html_body": long_html}
        headers = {"Idempotency-Key": f"k-{index}"} if index % 4 == 1 else None
        return api.request("POST", COLLECTION, company, body, headers=headers).status

    with ThreadPoolExecutor(max_workers=8) as pool:
        statuses = list(pool.map(post, range(72)))

    items = stored_rows(company.id)
    rows = [item for item in items if not item["sk"]["S"].endswith("#body")]
    bodies = {item["sk"]["S"].removesuffix("#body") for item in items if item["sk"]["S"].endswith("#body")}
    assert statuses.count(201) == 24
    assert statuses.count(402) == 48
    assert len(rows) == 24
    assert bodies == {row["sk"]["S"] for row in rows if "body_bytes" in row}  # no payload item left alone
    assert credit_ledger().balance(company.id, consistent=True) == 0


@pytest.mark.parametrize("due_in_hours", [0, 24])
def test_a_create_whose_row_could_not_be_written_gives_its_credit_back(api, make_company, monkeypatch, due_in_hours):
    from moto.core.botocore_stubber import BotocoreStubber

    from tests.integration.test_fault_injection import dynamodb_error

    company = make_company(credits=3)
    moto_answer = BotocoreStubber.__call__

    def refuse_row_puts(self, event_name, request, **kwargs):
        if event_name == "before-send.dynamodb.PutItem" and b'"SC#' in request.body:
            return dynamodb_error(400, "ValidationException", "The row could not be written")
        return moto_answer(self, event_name, request, **kwargs)

    monkeypatch.setattr(BotocoreStubber, "__call__", refuse_row_puts)
    reply = api.request("POST", COLLECTION, company, email_body(scheduled_for=future(due_in_hours)))
    monkeypatch.setattr(BotocoreStubber, "__call__", moto_answer)

    assert reply.status >= 500 or reply.status == 409, reply.text  # not created, and said so
    assert stored_rows(company.id) == []
    assert credit_ledger().balance(company.id, consistent=True) == 3


@pytest.mark.parametrize("key", [None, "one-key"])
def test_a_create_waits_on_one_round_trip_its_other_writes_go_beside_it(api, make_company, key):
    import threading

    from scheduled_comms.adapters.aws import client

    company = make_company()
    body = email_body()
    body["payload"] = {**body["payload"], "html_body": "<p>" + " ".join(str(n) * 7 for n in range(400)) + "</p>"}
    assert api.request("POST", COLLECTION, company, body).status == 201  # the company's defaults are now known
    calls: list[tuple[str, bool]] = []

    def record(event_name: str, params: dict, **_: object) -> None:
        if not str(params.get("Key", {}).get("pk", {}).get("S", "")).startswith("KEY#"):  # the authorizer's
            calls.append((event_name.rsplit(".", 1)[-1], threading.current_thread().name.startswith("beside")))

    events = client("dynamodb").meta.events
    events.register("before-call.dynamodb", record)
    try:
        reply = api.request("POST", COLLECTION, company, body, headers={"Idempotency-Key": key} if key else None)
    finally:
        events.unregister("before-call.dynamodb", record)

    assert reply.status == 201, reply.text
    waited_on = [name for name, beside in calls if not beside]
    assert waited_on == (["TransactWriteItems"] if key else ["PutItem"])
    assert sorted(name for name, beside in calls if beside) == (
        ["GetItem", "PutItem"] if key else ["PutItem", "UpdateItem"]  # the balance or the spend; the payload item
    )
