"""DynamoDB capacity units computed from what the code really writes and reads, not typed in.

A meter sits inside moto's DynamoDB (under the lock that serialises its requests, so no other request
interleaves) and, for every request, compares the items it touches before and after. It charges units
by DynamoDB's published rules, with the tables and indexes read from ``template.yaml``:

- item size: attribute names plus values (strings and binaries by their bytes, numbers by about half
  their digits plus one, maps and lists 3 bytes plus 1 per element, booleans and nulls 1);
- a write costs ceil(size / 1 KB) of the larger of the item before and after; a transactional write
  twice that; a write whose condition failed still costs the stored item's size;
- each index is charged separately: an entry put, deleted, or updated when a projected attribute
  changed (a key change is a delete and a put), at the projected entry's size;
- a read costs ceil(bytes read / 4 KB), halved when eventually consistent (a query's bytes are the
  sum of the items it returns, at their projected size for an index).

Left out: the 100 bytes of storage overhead per index entry (storage only), items a filter read and
dropped (the code does not filter), and ConditionCheck items (the code uses none).
"""

from __future__ import annotations

import base64
import json
import math
import threading
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

ACCOUNT, REGION = "123456789012", "us-east-1"
RATE_ITEM = '"RATE#'  # the partition key's start of a send quota's item


def value_size(value: dict[str, Any]) -> int:
    ((kind, inner),) = value.items()
    if kind == "S":
        return len(inner.encode("utf-8"))
    if kind == "N":
        digits = inner.lstrip("-").replace(".", "").lstrip("0").rstrip("0") or "0"
        return math.ceil(len(digits) / 2) + 1
    if kind == "B":
        return len(base64.b64decode(inner)) if isinstance(inner, str) else len(inner)
    if kind in ("BOOL", "NULL"):
        return 1
    if kind in ("SS", "NS", "BS"):
        return sum(value_size({kind[0]: element}) for element in inner)
    if kind == "L":
        return 3 + sum(1 + value_size(element) for element in inner)
    if kind == "M":
        return 3 + sum(1 + len(name.encode()) + value_size(element) for name, element in inner.items())
    raise ValueError(kind)


def item_size(item: dict[str, Any] | None) -> int:
    return sum(len(name.encode()) + value_size(value) for name, value in (item or {}).items())


def write_units(size: int) -> int:
    return max(1, math.ceil(size / 1024))


@dataclass(frozen=True)
class Index:
    name: str
    keys: tuple[str, ...]
    projected: tuple[str, ...] | None  # None: ALL

    def entry(self, item: dict[str, Any] | None, table_keys: tuple[str, ...]) -> dict[str, Any] | None:
        if item is None or any(key not in item for key in self.keys):
            return None
        if self.projected is None:
            return item
        wanted = set(table_keys) | set(self.keys) | set(self.projected)
        return {name: value for name, value in item.items() if name in wanted}


@dataclass(frozen=True)
class TableShape:
    keys: tuple[str, ...]
    indexes: tuple[Index, ...]


def table_shapes(definitions: dict[str, dict[str, Any]]) -> dict[str, TableShape]:
    """Key schema and indexes of each table, from the create_table arguments the template yields."""
    shapes = {}
    for spec in definitions.values():
        create = spec["create"]
        indexes = []
        for index in create.get("GlobalSecondaryIndexes", []) + create.get("LocalSecondaryIndexes", []):
            projection = index["Projection"]
            projected = None if projection["ProjectionType"] == "ALL" else tuple(projection.get("NonKeyAttributes", []))
            indexes.append(Index(index["IndexName"], tuple(k["AttributeName"] for k in index["KeySchema"]), projected))
        keys = tuple(k["AttributeName"] for k in create["KeySchema"])
        shapes[create["TableName"]] = TableShape(keys, tuple(indexes))
    return shapes


@dataclass
class Meter:
    """Write and read units, by table and operation, since the last ``reset``."""

    shapes: dict[str, TableShape]
    writes: Counter[str] = field(default_factory=Counter)
    reads: Counter[str] = field(default_factory=Counter)
    requests: Counter[str] = field(default_factory=Counter)

    def reset(self) -> None:
        self.writes.clear()
        self.reads.clear()
        self.requests.clear()

    @property
    def write_units(self) -> float:
        return sum(self.writes.values())

    @property
    def read_units(self) -> float:
        return sum(self.reads.values())

    # -- charging ---------------------------------------------------------------------------------
    def charge_write(self, table: str, before: dict | None, after: dict | None, label: str, factor: int = 1) -> None:
        shape = self.shapes[table]
        self.writes[f"{label}:table"] += factor * write_units(max(item_size(before), item_size(after)))
        for index in shape.indexes:
            old, new = index.entry(before, shape.keys), index.entry(after, shape.keys)
            if old is None and new is None:
                continue
            if old is None or new is None:
                self.writes[f"{label}:{index.name}"] += write_units(item_size(old or new))
            elif any(old.get(k) != new.get(k) for k in index.keys):
                self.writes[f"{label}:{index.name}"] += write_units(item_size(old)) + write_units(item_size(new))
            elif old != new:
                self.writes[f"{label}:{index.name}"] += write_units(max(item_size(old), item_size(new)))

    def charge_read(self, label: str, items: list[dict[str, Any]], consistent: bool) -> None:
        units = max(1, math.ceil(sum(item_size(item) for item in items) / 4096))
        self.reads[label] += units if consistent else units / 2


class MotoMeter:
    """Installs a ``Meter`` inside moto's DynamoDB request handler (in-process moto only)."""

    WRITES = ("PutItem", "UpdateItem", "DeleteItem")

    def __init__(self, meter: Meter) -> None:
        self.meter = meter
        self._installed = False
        self._lock = threading.Lock()

    def install(self) -> None:
        from moto.dynamodb.responses import DynamoHandler
        from scheduled_comms_local.moto_patches import moto_dynamodb_lock

        original = DynamoHandler.call_action
        metering = self

        def call_action(handler: Any) -> Any:
            with moto_dynamodb_lock():
                operation = handler.headers.get("X-Amz-Target", "").rpartition(".")[2]
                params = handler.params if isinstance(getattr(handler, "params", None), dict) else {}
                touched = metering._touched(operation, params)
                before = {key: metering._item(*key) for key in touched}
                response = original(handler)
                metering._charge(operation, params, touched, before, response)
                return response

        DynamoHandler.call_action = call_action  # type: ignore[method-assign]
        self._installed = True

    # -- moto's state ------------------------------------------------------------------------------
    @staticmethod
    def _backend() -> Any:
        from moto.dynamodb.models import dynamodb_backends

        return dynamodb_backends[ACCOUNT][REGION]

    def _item(self, table: str, key_json: str) -> dict[str, Any] | None:
        from moto.dynamodb.models.dynamo_type import DynamoType

        key = json.loads(key_json)
        shape = self.meter.shapes.get(table)
        if shape is None:
            return None
        found = (
            self._backend()
            .get_table(table)
            .get_item(DynamoType(key[shape.keys[0]]), DynamoType(key[shape.keys[1]]) if len(shape.keys) > 1 else None)
        )
        return found.to_json()["Attributes"] if found is not None else None

    def _key_of(self, table: str, item_or_key: dict[str, Any]) -> tuple[str, str]:
        shape = self.meter.shapes[table]
        return table, json.dumps({k: item_or_key[k] for k in shape.keys}, sort_keys=True)

    def _touched(self, operation: str, params: dict[str, Any]) -> list[tuple[str, str]]:
        if operation in ("PutItem", "UpdateItem", "DeleteItem"):
            table = params["TableName"]
            if table in self.meter.shapes:
                return [self._key_of(table, params.get("Key") or params["Item"])]
        if operation == "TransactWriteItems":
            touched = []
            for entry in params["TransactItems"]:
                ((_, action),) = entry.items()
                if action["TableName"] in self.meter.shapes:
                    touched.append(self._key_of(action["TableName"], action.get("Key") or action["Item"]))
            return touched
        return []

    def _charge(
        self,
        operation: str,
        params: dict[str, Any],
        touched: list[tuple[str, str]],
        before: dict[tuple[str, str], Any],
        response: Any,
    ) -> None:
        status, _, body = response
        meter = self.meter
        meter.requests[operation] += 1
        if operation in ("PutItem", "UpdateItem", "DeleteItem", "TransactWriteItems"):
            factor = 2 if operation == "TransactWriteItems" else 1
            for key in touched:
                after = self._item(*key) if status == 200 else before[key]  # a refused write changes nothing
                # The shared limiter's send quotas (``items.rate_key``) are counted apart.
                label = "rate" if RATE_ITEM in json.dumps(params.get("Key", "")) else operation
                if status != 200:
                    # A condition that failed still costs a write of the stored item's size (1 unit at least).
                    meter.writes[f"{label}:refused"] += factor * write_units(item_size(before[key]))
                    continue
                meter.charge_write(key[0], before[key], after, label, factor)
        elif operation == "GetItem" and status == 200:
            item = json.loads(body).get("Item")
            meter.charge_read("GetItem", [item] if item else [], bool(params.get("ConsistentRead")))
        elif operation == "Query" and status == 200:
            items = json.loads(body).get("Items", [])
            meter.charge_read(f"Query:{params.get('IndexName', 'table')}", items, bool(params.get("ConsistentRead")))


# Published us-east-1 prices (November 2026 price lists).
PRICES = {
    "lambda_gb_second": 0.0000166667,
    "lambda_request": 0.20 / 1_000_000,
    "dynamodb_write_unit": 0.625 / 1_000_000,
    "dynamodb_read_unit": 0.125 / 1_000_000,
    "eventbridge_event": 1.00 / 1_000_000,
    "sqs_request": 0.40 / 1_000_000,
    "dynamodb_gb_month": 0.25,
}
INDEX_STORAGE_OVERHEAD = 100  # bytes DynamoDB adds to each index entry it stores
MESSAGES_PER_SCENARIO = 20
COST_SES_QUOTA = 1500.0


def prose_html(size: int, seed: int = 7) -> str:
    """``size`` bytes of HTML paragraphs whose words are drawn at random (seeded) from this repository's README.

    Rows are stored compressed, so a body of repeated characters would flatter the figures: drawn words
    compress about as well as prose does (real email HTML, with its repeated markup, usually compresses better).
    """
    import random
    import re
    from pathlib import Path

    words = re.findall(r"[A-Za-z]{2,}", (Path(__file__).resolve().parents[1] / "README.md").read_text())
    rng = random.Random(seed)
    parts: list[str] = []
    length = 0
    while length < size:
        paragraph = "<p>" + " ".join(rng.choice(words) for _ in range(rng.randint(20, 60))) + ".</p>"
        parts.append(paragraph)
        length += len(paragraph) + 1
    return "\n".join(parts)[:size]


def _email(html_bytes: int, links: bool) -> dict[str, Any]:
    ids = {
        "contact_id": "3b0c7f38-8d0b-4f0e-a7a5-2a4c2b1e9d11",
        "deal_id": "5e1f7a2b-3c4d-4e5f-8a9b-0c1d2e3f4a5b",
        "customer_id": "7c2d8e4f-5a6b-4c7d-9e0f-1a2b3c4d5e6f",
    }
    body: dict[str, Any] = {
        "channel": "email",
        "timezone": "America/New_York",
        "payload": {
            "to_email": "client@example.com",
            "subject": "Following up on your quote",
            "html_body": prose_html(html_bytes),
        },
    }
    if links:
        body.update(ids)
        body["payload"].update(ids)
    return body


SCENARIOS: dict[str, tuple[dict[str, Any], bool]] = {
    # name: (request body, with an Idempotency-Key); "1 KB" is the whole request body's size
    "email_1kb": (_email(830, links=False), False),
    "email_1kb_links": (_email(830, links=True), False),
    "email_50kb": (_email(50 * 1024, links=False), False),
    "email_1kb_idempotent": (_email(830, links=False), True),
}


def measure_message_costs(stack: Any, meter: Meter, host: Any, create_event: dict[str, Any]) -> dict[str, Any]:
    """Each scenario's messages created through the create handler, sent by the real tick and its dispatch
    worker (the tick's slice through the dispatch queue, as Lambda's SQS mapping delivers it, paced through
    the shared limiter at ``COST_SES_QUOTA``) and their transitions published by the stream
    consumer, metered.

    Lambda time is the handlers' wall time in this process against moto (an upper bound: moto's own
    work is counted as the function's), at the template's memory sizes. Lambda's reads of a DynamoDB
    stream for a trigger are free; the consumer's time is counted. SQS requests are the tick's sends and the
    mapping's receives that took a slice and its deletes (its empty long polls are a fixed cost a month,
    not a message's). The limiter's writes are in the metered write units (``RATE#`` items).
    """

    import os

    from scheduled_comms import composition
    from scheduled_comms_cli.queues import QueuePump

    quotas = {
        "SES_SENDS_PER_SECOND": "SesSendsPerSecond",
        "SMS_SENDS_PER_SECOND": "SmsSendsPerSecond",
        "VOICE_CALLS_PER_SECOND": "VoiceCallsPerSecond",
        "COMPANY_SENDS_PER_SECOND": "CompanySendsPerSecond",
    }
    saved = {name: os.environ.get(name) for name in quotas}
    os.environ.update({name: str(stack.parameter_default(parameter)) for name, parameter in quotas.items()})
    # SES at a quota the scenario's burst does not reach (a production account's, the lateness model's): the
    # worker's Lambda time is its work, not a wait for SES's slots; the limiter still reserves them.
    os.environ["SES_SENDS_PER_SECOND"] = str(COST_SES_QUOTA)
    composition.reset()
    try:
        return _measure(stack, meter, host, create_event, QueuePump(stack, host))
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        composition.reset()


def _measure(stack: Any, meter: Meter, host: Any, create_event: dict[str, Any], queue: Any) -> dict[str, Any]:
    import time
    import uuid
    from datetime import UTC, datetime, timedelta

    from scheduled_comms import composition
    from scheduled_comms.adapters.aws import client
    from scheduled_comms.logic.auth import ALL_SCOPES
    from scheduled_comms.models.domain import now_utc
    from scheduled_comms_cli.streams import StreamPump
    from scheduled_comms_local.lambda_host import scheduled_event

    sqs_requests: list[str] = []
    client("sqs").meta.events.register("before-call.sqs", lambda model, **_: sqs_requests.append(model.name))
    events_sent: list[int] = []
    client("events").meta.events.register(
        "before-parameter-build.eventbridge.PutEvents", lambda params, **_: events_sent.append(len(params["Entries"]))
    )
    create_gb = int(stack.function_setting("CreateCommunicationFunction", "MemorySize", 512)) / 1024
    tick_gb = int(stack.function_setting("TickFunction", "MemorySize", 256)) / 1024
    worker_gb = int(stack.function_setting("DispatchWorkerFunction", "MemorySize", 1024)) / 1024
    publisher_gb = int(stack.function_setting("PublishTransitionsFunction", "MemorySize", 256)) / 1024
    pump = StreamPump(stack, host)
    pump.drain()  # the records of what earlier benchmarks wrote
    results: dict[str, Any] = {}
    for name, (body, idempotent) in SCENARIOS.items():
        company_id = str(uuid.uuid4())
        composition.credit_ledger().grant(company_id, 1_000, now_utc())
        meter.reset()
        events_sent.clear()
        sqs_requests.clear()
        handled = queue.requests.copy()
        now = datetime.now(UTC)
        lambda_seconds = 0.0
        for _ in range(MESSAGES_PER_SCENARIO):
            event = json.loads(json.dumps(create_event))
            event["requestContext"]["authorizer"] = {
                "company_id": company_id,
                "scopes": ",".join(ALL_SCOPES),
                "key_id": "k",
            }
            event["body"] = json.dumps({**body, "scheduled_for": now.isoformat()})
            event["isBase64Encoded"] = False
            event["headers"] = {"Content-Type": "application/json"}
            if idempotent:
                event["headers"]["Idempotency-Key"] = str(uuid.uuid4())
            started = time.perf_counter()
            result = host.invoke("CreateCommunicationFunction", event)
            lambda_seconds += (time.perf_counter() - started) * create_gb
            assert result["statusCode"] == 201, result
        request_bytes = len(event["body"].encode())
        create_units = meter.write_units
        started = time.perf_counter()
        tick = host.invoke("TickFunction", scheduled_event(now + timedelta(seconds=5), single_pass=True))
        lambda_seconds += (time.perf_counter() - started) * tick_gb
        deliveries = queue.drain()
        lambda_seconds += sum(d.seconds for d in deliveries) * worker_gb  # its invocations' time, not the polls
        assert tick["workers"] == 1 and [d.error for d in deliveries] == [None], (tick, deliveries)
        dispatched = sum(d.result["dispatched"] for d in deliveries)
        started = time.perf_counter()
        pump.drain()
        lambda_seconds += (time.perf_counter() - started) * publisher_gb
        assert dispatched == MESSAGES_PER_SCENARIO, deliveries
        n = MESSAGES_PER_SCENARIO
        requests = len(sqs_requests) + sum((queue.requests - handled).values())
        stored = stored_bytes_per_message(meter, stack, company_id)
        writes, reads, entries = meter.write_units / n, meter.read_units / n, sum(events_sent) / n
        dollars = {
            "dynamodb": writes * PRICES["dynamodb_write_unit"] + reads * PRICES["dynamodb_read_unit"],
            "lambda": lambda_seconds / n * PRICES["lambda_gb_second"] + PRICES["lambda_request"],
            "eventbridge": entries * PRICES["eventbridge_event"],
            "sqs": requests / n * PRICES["sqs_request"],
        }
        results[name] = {
            "request_bytes": request_bytes,
            "write_units": round(writes, 2),
            "write_units_create": round(create_units / n, 2),
            "read_units": round(reads, 2),
            "eventbridge_events": round(entries, 2),
            "sqs_requests": round(requests / n, 3),
            "limiter_write_units": round(sum(v for k, v in meter.writes.items() if k.startswith("rate:")) / n, 3),
            "usd_per_million": round(sum(dollars.values()) * 1_000_000, 2),
            "usd_per_million_by_service": {k: round(v * 1_000_000, 2) for k, v in dollars.items()},
            "write_units_by_step": {k: round(v / n, 2) for k, v in sorted(meter.writes.items())},
            "stored_bytes": round(stored),
            "storage_gb_month_per_million": round(stored * 1_000_000 / 1e9, 3),
        }
    return results


def stored_bytes_per_message(meter: Meter, stack: Any, company_id: str) -> float:
    """What a sent row keeps in storage: its item, its payload item if any, and its index entries (each with
    DynamoDB's overhead)."""
    from moto.dynamodb.models import dynamodb_backends
    from scheduled_comms.adapters.dynamodb.items import BODY_SUFFIX, row_partitions

    table = stack.environment()["COMMUNICATIONS_TABLE"]
    shape = meter.shapes[table]
    partitions = set(row_partitions(company_id))
    items = [
        item.to_json()["Attributes"]
        for group in dynamodb_backends[ACCOUNT][REGION].get_table(table).items.values()
        for item in group.values()
        if item.attrs["pk"].value in partitions and item.attrs["sk"].value.startswith("SC#")
    ]
    total = 0
    for item in items:
        total += item_size(item)
        for index in shape.indexes:
            entry = index.entry(item, shape.keys)
            if entry is not None:
                total += item_size(entry) + INDEX_STORAGE_OVERHEAD
    rows = sum(not item["sk"]["S"].endswith(BODY_SUFFIX) for item in items)  # a payload item is its row's
    return total / max(1, rows)
