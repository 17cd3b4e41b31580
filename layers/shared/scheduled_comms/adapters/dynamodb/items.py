"""The table's items: every key format, the codecs between rows and items, and condition checks.

Item layout (the storage shape; the domain model never sees these keys):

* company      ``pk=CO#<company>``  ``sk=#COMPANY``     credits, name
* row          ``pk=CO#<company>#<n>``  ``sk=SC#<uuid7>``   the communication; ``n`` = crc32(id) mod
  ``ROW_PARTITIONS``; uuid7 sorts by creation time, so a list merges the partitions newest first
* API key      ``pk=KEY#<key_id>``  ``sk=#KEY``         company, scopes, sha256 of the secret, revoked_at
* held key     ``pk=IK#<company>#<sha256 of the Idempotency-Key>``  ``sk=#IK``   the row it created, the
  request's SHA-256, ``expires_at`` (TTL)
* send quota   ``pk=RATE#<provider>`` or ``RATE#<provider>#CO#<company>``  ``sk=#RATE``   ``next_slot``: when
  the quota's next free send slot begins (epoch seconds); ``expires_at`` (TTL) a day after its last use

Campaigns ("batch calls") and contact folders:

* campaign     ``pk=CO#<company>``  ``sk=CA#<uuid7>``     settings, status, counters (contacts by status as
  ``n_<status>``, ``next_index``, credits reserved and returned, calls placed, the plan's epoch); a list
  reads the company's campaigns newest first, a status filter reads a bounded number of pages
* folder       ``pk=CO#<company>``  ``sk=CF#<uuid7>``     name, ``next_index``, ``contacts_total``
* contact      ``pk=CA#<company>#<campaign>`` (or ``CF#<company>#<folder>``)  ``sk=CT#<index, 9 digits>``:
  the contact in the order it was added, its status, slot, number, attempts and outcome; a status filter
  reads the list in order, a bounded number of pages at a time (no index to rewrite at each status change)
* number guard ``sk=PH#<E.164>`` in the same partition: the number is in the list (a second one is refused)
* day          ``sk=DAY#<local date>`` in a campaign's partition: calls planned (``taken_<epoch>``) and
  placed (``placed``) on that local day, for the daily cap across re-plans

People (push devices and the in-app inbox), all in the person's partition ``pk=PE#<company>#<person>``:

* device       ``sk=DV#<device id>``   platform, brand, token, SNS endpoint ARN, enabled; its owner guard
  ``pk=CO#<company>`` ``sk=DVO#<device id>`` names the one person a device (token) is registered for
* inbox entry  ``sk=IB#<landed at, epoch ms, 13 digits>#<message id>``: the rendered message, its marks;
  a query of ``IB#`` backwards reads the inbox newest first
* inbox entry pointer ``sk=IM#<message id>``: the entry's sort key (marking finds the entry by message id)
* inbox head   ``sk=#INBOX``: counts of unseen and unread entries, and a version bumped by every change
  (the feed's ETag)

Indexes are chosen for what they cost to write, not only for what they serve:

* ``ByContact``, ``ByDeal``, ``ByCustomer`` (partition ``<company>#<id>``, sort ``sk``): keys only, so
  an entry is written once, when the row is created, and no later change of the row touches it. A
  list reads the entries' rows by key. Status and channel filters read the company's rows newest
  first with a filter, a bounded number of pages at a time (no index to rewrite at every status change).
* ``Due`` (partition ``pending#<shard>``, sort ``scheduled_for``): pending and dispatching rows, with
  ``status`` and ``lease_until`` projected. A claim keeps the row's keys (one index write, not a
  delete and a put into another index), and the same query finds rows whose lease ran out. A row
  leaves the index when it becomes terminal.
"""

from __future__ import annotations

import base64
import hashlib
import json
import zlib
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any, cast

from botocore.exceptions import ClientError
from scheduled_comms.models.dispatch import RateScope
from scheduled_comms.models.domain import TERMINAL, Communication, HeldKey, IdempotencyClaim, Status
from scheduled_comms.models.values import DYNAMODB_NUMBERS, format_instant
from scheduled_comms.settings import get_settings

if TYPE_CHECKING:  # the codecs import them when called: most functions never read a campaign
    from scheduled_comms.models.campaigns import Campaign, CampaignContact, ContactFolder

COMPANY_SK = "#COMPANY"
KEY_SK = "#KEY"
IDEMPOTENCY_SK = "#IK"
ROW_PREFIX = "SC#"
RATE_SK = "#RATE"
NEXT_SLOT = "next_slot"
RATE_ITEM_KEPT = timedelta(days=1)
# Bumped whenever items are keyed or encoded differently (a local stack refuses state saved with another).
STORAGE_LAYOUT = 2
# A company's rows are spread over this many partition keys, so a burst of its rows (claimed and finished
# in the same seconds) stays under DynamoDB's per-partition write limit. Part of every row's key: fixed.
ROW_PARTITIONS = 8
PAYLOAD_ATTRIBUTE = "payload_z"
# A row whose payload lives in its own item (sort key ``SC#<id>#body``) carries the payload's packed size here.
BODY_ATTRIBUTE = "body_bytes"
BODY_SUFFIX = "#body"
BODY_SPARE = timedelta(days=30)
# A packed payload up to this size stays inside its row: with the row's other attributes (about 450 bytes
# at most, finished) the item stays within one write unit (1 KB). The rule looks at the payload alone, so
# a row's layout never changes as the row goes through its life.
INLINE_PAYLOAD_BYTES = 560


def to_attributes(values: dict[str, Any]) -> dict[str, Any]:
    """Plain JSON-like values to DynamoDB's typed form (floats become Decimals).

    The codec is written out here rather than taken from ``boto3.dynamodb.types``: importing that module
    imports boto3 itself, and the functions need only botocore (a fifth of a cold start's imports).
    """
    clean = json.loads(json.dumps(values), parse_float=Decimal)
    return {name: _typed(value) for name, value in clean.items()}


def _typed(value: Any) -> dict[str, Any]:
    if value is None:
        return {"NULL": True}
    if isinstance(value, bool):
        return {"BOOL": value}
    if isinstance(value, int | Decimal):
        number = str(DYNAMODB_NUMBERS.create_decimal(value))
        if number in ("Infinity", "-Infinity", "NaN"):
            raise TypeError(f"{number} cannot be stored in DynamoDB")
        return {"N": number}
    if isinstance(value, str):
        return {"S": value}
    if isinstance(value, bytes):
        return {"B": value}
    if isinstance(value, dict):
        return {"M": {str(k): _typed(v) for k, v in value.items()}}
    if isinstance(value, list):
        return {"L": [_typed(v) for v in value]}
    raise TypeError(f"{type(value).__name__} cannot be stored in DynamoDB")


def from_attributes(item: dict[str, Any]) -> dict[str, Any]:
    """DynamoDB's typed form to plain values (whole numbers as ints, others as floats, sets as lists)."""
    return {name: _plain(value) for name, value in item.items()}


def _plain(attribute: dict[str, Any]) -> Any:
    ((kind, value),) = attribute.items()
    if kind == "N":
        return _number(value)
    if kind in ("S", "B", "BOOL"):
        return value
    if kind == "NULL":
        return None
    if kind == "M":
        return {k: _plain(v) for k, v in value.items()}
    if kind == "L":
        return [_plain(v) for v in value]
    if kind == "NS":
        return [_number(v) for v in value]
    if kind in ("SS", "BS"):
        return list(value)
    raise TypeError(f"unknown DynamoDB type {kind}")


def _number(text: str) -> int | float:
    number = DYNAMODB_NUMBERS.create_decimal(text)
    return int(number) if number == number.to_integral_value() else float(number)


def company_pk(company_id: str) -> str:
    return f"CO#{company_id}"


def row_partition(company_id: str, row_id: str) -> str:
    """The partition key of a row: one of the company's ``ROW_PARTITIONS``, chosen by the row's id."""
    return f"{company_pk(company_id)}#{zlib.crc32(row_id.encode()) % ROW_PARTITIONS}"


def row_partitions(company_id: str) -> list[str]:
    return [f"{company_pk(company_id)}#{n}" for n in range(ROW_PARTITIONS)]


def row_key(company_id: str, row_id: str) -> dict[str, Any]:
    return {"pk": {"S": row_partition(company_id, row_id)}, "sk": {"S": f"{ROW_PREFIX}{row_id}"}}


def api_key_key(key_id: str) -> dict[str, Any]:
    return {"pk": {"S": f"KEY#{key_id}"}, "sk": {"S": KEY_SK}}


def company_key(company_id: str) -> dict[str, Any]:
    return {"pk": {"S": company_pk(company_id)}, "sk": {"S": COMPANY_SK}}


def company_id_of(item: dict[str, Any]) -> str:
    """The company of a row's item (its partition key is ``CO#<company>#<n>``)."""
    return item["pk"]["S"].removeprefix("CO#").rpartition("#")[0]


def row_id_of(item: dict[str, Any]) -> str:
    """The id of a row's item (its sort key is ``SC#<id>``)."""
    return item["sk"]["S"].removeprefix(ROW_PREFIX)


def person_pk(company_id: str, person_id: str) -> str:
    return f"PE#{company_id}#{person_id}"


DEVICE_PREFIX = "DV#"
INBOX_PREFIX = "IB#"
INBOX_POINTER_PREFIX = "IM#"
INBOX_HEAD_SK = "#INBOX"


def device_key(company_id: str, person_id: str, device_id: str) -> dict[str, Any]:
    return {"pk": {"S": person_pk(company_id, person_id)}, "sk": {"S": f"{DEVICE_PREFIX}{device_id}"}}


def device_owner_key(company_id: str, device_id: str) -> dict[str, Any]:
    return {"pk": {"S": company_pk(company_id)}, "sk": {"S": f"DVO#{device_id}"}}


def inbox_entry_sk(landed_at: datetime, message_id: str) -> str:
    return f"{INBOX_PREFIX}{int(landed_at.timestamp() * 1000):013d}#{message_id}"


def inbox_key(company_id: str, person_id: str, sk: str) -> dict[str, Any]:
    return {"pk": {"S": person_pk(company_id, person_id)}, "sk": {"S": sk}}


def inbox_pointer_key(company_id: str, person_id: str, message_id: str) -> dict[str, Any]:
    return inbox_key(company_id, person_id, f"{INBOX_POINTER_PREFIX}{message_id}")


def inbox_head_key(company_id: str, person_id: str) -> dict[str, Any]:
    return inbox_key(company_id, person_id, INBOX_HEAD_SK)


def due_shard_key(shard: int) -> str:
    return f"pending#{shard}"


def due_shard(row_id: str, shard_count: int) -> str:
    return due_shard_key(zlib.crc32(row_id.encode()) % shard_count)


@dataclass(frozen=True)
class LinkIndex:
    name: str
    attribute: str
    fields: tuple[str, ...]

    def value(self, company_id: str, source: Any) -> str | None:
        parts = [getattr(source, field) for field in self.fields]
        if any(part is None for part in parts):
            return None
        return "#".join([company_id, *(str(part) for part in parts)])


# In order of preference when several filters are given.
FILTER_INDEXES = (
    LinkIndex("ByContact", "gsi_contact", ("contact_id",)),
    LinkIndex("ByDeal", "gsi_deal", ("deal_id",)),
    LinkIndex("ByCustomer", "gsi_customer", ("customer_id",)),
)
FILTER_FIELDS = ("status", "channel", "contact_id", "deal_id", "customer_id")
# Every row by the address it reaches (keys only, written at create): cancelling by address reads it.
RECIPIENT_INDEX = LinkIndex("ByRecipient", "gsi_recipient", ("recipient",))
CANCELLATION_KEY_PREFIX = "CK#"


def cancellation_key_prefix(key: str) -> str:
    """The sort-key prefix of a cancellation key's items (by its SHA-256: any text, any length)."""
    return f"{CANCELLATION_KEY_PREFIX}{hashlib.sha256(key.encode()).hexdigest()}#"


def cancellation_key_item(row: Communication) -> dict[str, Any] | None:
    """The item that finds ``row`` by its cancellation key: in the row's own partition, so a company's key is
    found by one query of each of its ``ROW_PARTITIONS`` (no index to keep for keys few rows carry). Kept
    as long as the row may be; a key item whose row was never written names nothing (a create that failed)."""
    if row.cancellation_key is None:
        return None
    return {
        "pk": {"S": row_partition(row.company_id, row.id)},
        "sk": {"S": cancellation_key_prefix(row.cancellation_key) + row.id},
        "expires_at": {"N": str(_body_expiry(row))},
    }


def pack_payload(payload: dict[str, Any]) -> bytes:
    """A row's payload as stored: compact JSON, compressed (bodies are most of a row, and text compresses).

    A write is billed per KB of the whole item, claims and finishes included, so a smaller item is
    cheaper at every step of the row's life, not only at create.
    """
    return zlib.compress(json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode(), 6)


def unpack_payload(attribute: dict[str, Any]) -> dict[str, Any]:
    raw = attribute["B"]
    # Lambda's stream records carry binaries base64-encoded; the DynamoDB API gives bytes.
    packed = base64.b64decode(raw) if isinstance(raw, str) else bytes(raw)
    return cast(dict[str, Any], json.loads(zlib.decompress(packed)))


# Left out of the item while they hold their default (no condition or filter reads them): bytes a row
# would otherwise pay for at every write of its life.
_OMITTED_WHEN_DEFAULT = ("respect_business_hours", "delivery", "source", "transactional")


def body_key(company_id: str, row_id: str) -> dict[str, Any]:
    """Where a row's payload is kept when it has an item of its own: beside the row, in its partition."""
    return {"pk": {"S": row_partition(company_id, row_id)}, "sk": {"S": f"{ROW_PREFIX}{row_id}{BODY_SUFFIX}"}}


def is_body(item: dict[str, Any]) -> bool:
    return item["sk"]["S"].endswith(BODY_SUFFIX)


def _body_expiry(row: Communication) -> int:
    """A payload item's TTL: its row's retention after the time it was meant for, and a month to spare for
    holds and retries (the row's own expiry is kept within it)."""
    retention = timedelta(days=get_settings().retention_days)
    return int((row.intended_time + retention + BODY_SPARE).timestamp())


def row_to_item(row: Communication, shard_count: int) -> dict[str, Any]:
    """The row's item. Its payload is inside unless that would take the item past one write unit (1 KB):
    then the item names the payload's own item (``body_item``), written once, so that the claim and the
    finish, which rewrite the row, are billed for the row alone."""
    values: dict[str, Any] = {key: value for key, value in row.model_dump(mode="json").items() if value is not None}
    payload = values.pop("payload")
    # The keys carry the company and the id.
    del values["id"], values["company_id"]
    for name in _OMITTED_WHEN_DEFAULT:
        if getattr(row, name) == Communication.model_fields[name].default:
            del values[name]
    values["pk"] = row_partition(row.company_id, row.id)
    values["sk"] = f"{ROW_PREFIX}{row.id}"
    for index in (*FILTER_INDEXES, RECIPIENT_INDEX):
        key = index.value(row.company_id, row)
        if key is not None:
            values[index.attribute] = key
    if row.status in (Status.PENDING, Status.DISPATCHING):
        values["due_shard"] = due_shard(row.id, shard_count)
    if row.status in TERMINAL:
        # The table's TTL attribute: a terminal row is deleted once its retention has passed.
        retention = timedelta(days=get_settings().retention_days)
        values["expires_at"] = int((row.updated_at + retention).timestamp())
    item = to_attributes(values)
    packed = pack_payload(payload)
    if len(packed) <= INLINE_PAYLOAD_BYTES:
        item[PAYLOAD_ATTRIBUTE] = {"B": packed}
        return item
    item[BODY_ATTRIBUTE] = {"N": str(len(packed))}
    if "expires_at" in item:  # a row never outlives its payload
        item["expires_at"] = {"N": str(min(int(item["expires_at"]["N"]), _body_expiry(row)))}
    return item


def body_item(row: Communication) -> dict[str, Any] | None:
    """The payload's own item, when ``row_to_item`` keeps it apart (None when the payload is inside the row)."""
    packed = pack_payload(row.payload)
    if len(packed) <= INLINE_PAYLOAD_BYTES:
        return None
    return {
        **body_key(row.company_id, row.id),
        PAYLOAD_ATTRIBUTE: {"B": packed},
        "expires_at": {"N": str(_body_expiry(row))},
    }


def with_payload_of(item: dict[str, Any], body: dict[str, Any] | None) -> dict[str, Any]:
    """A row item with the payload of its payload item ``body`` in it, as if it had been stored inside."""
    if body is None or body["sk"]["S"] != item["sk"]["S"] + BODY_SUFFIX:
        return item
    return {**item, PAYLOAD_ATTRIBUTE: body[PAYLOAD_ATTRIBUTE]}


def row_with_body(item: dict[str, Any], body: dict[str, Any] | None) -> Communication:
    """The row of ``item``, with the payload of its payload item ``body`` when it has one. A payload item
    gone (its TTL outlived only by a row held a month past its time) leaves the row with an empty payload."""
    return item_to_row(with_payload_of(item, body), without_payload=True)


def get_row(client: Any, table: str, company_id: str, row_id: str, consistent: bool) -> Communication | None:
    """A row and its payload item in one query (they share a partition and a sort-key prefix)."""
    items = client.query(
        TableName=table,
        KeyConditionExpression="pk = :pk AND begins_with(sk, :sk)",
        ExpressionAttributeValues={
            ":pk": row_key(company_id, row_id)["pk"],
            ":sk": {"S": f"{ROW_PREFIX}{row_id}"},
        },
        ConsistentRead=consistent,
    ).get("Items", [])
    rows = [item for item in items if item["sk"]["S"] == f"{ROW_PREFIX}{row_id}"]
    bodies = [item for item in items if is_body(item)]
    return row_with_body(rows[0], bodies[0] if bodies else None) if rows else None


def read_body(client: Any, table: str, item: dict[str, Any]) -> Communication:
    """The row of ``item`` (say, a claim's answer), reading its payload item when it has one."""
    if BODY_ATTRIBUTE not in item:
        return item_to_row(item)
    row_id = row_id_of(item)
    body = client.get_item(TableName=table, Key=body_key(company_id_of(item), row_id), ConsistentRead=True)
    return row_with_body(item, body.get("Item"))


_STORAGE_ONLY = {
    PAYLOAD_ATTRIBUTE,
    BODY_ATTRIBUTE,
    "pk",
    "sk",
    "due_shard",
    "expires_at",
    *(index.attribute for index in (*FILTER_INDEXES, RECIPIENT_INDEX)),
}


class PayloadNotRead(Exception):
    """A row item whose payload lives in its own item was decoded without it."""


def item_to_row(item: dict[str, Any], without_payload: bool = False) -> Communication:
    """The row an item holds. A payload kept apart must have been read (``with_body``) unless the caller
    needs none (``without_payload``: the row comes with an empty payload)."""
    values = from_attributes({k: v for k, v in item.items() if k not in _STORAGE_ONLY})
    if PAYLOAD_ATTRIBUTE in item:  # items written before payloads were packed hold a plain map
        values["payload"] = unpack_payload(item[PAYLOAD_ATTRIBUTE])
    elif BODY_ATTRIBUTE in item:
        if not without_payload:
            raise PayloadNotRead(f"row {item['sk']['S']} was read without its payload item")
        values["payload"] = {}
    values["company_id"] = company_id_of(item)
    values["id"] = row_id_of(item)
    return Communication.model_validate(values)


def is_condition_failure(exc: ClientError) -> bool:
    """Whether a single-item write was refused by its condition."""
    return exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException"


def condition_failed(exc: ClientError) -> bool:
    """Whether a write, single or transactional, was refused by one of its conditions."""
    if is_condition_failure(exc):
        return True
    if exc.response.get("Error", {}).get("Code") == "TransactionCanceledException":
        reasons = exc.response.get("CancellationReasons") or []
        return any(reason.get("Code") == "ConditionalCheckFailed" for reason in reasons)
    return False


def spend_credit(table: str, company_id: str, now: datetime, row_id: str) -> dict[str, Any]:
    """The transaction step that spends one of the company's credits for ``row_id``, or cancels the
    transaction if none is left. ``last_spent_by`` lets a read beside the write tell whether it saw it."""
    return {
        "TableName": table,
        "Key": company_key(company_id),
        "UpdateExpression": "SET credits = credits - :one, updated_at = :now, last_spent_by = :row",
        "ConditionExpression": "credits >= :one",
        "ExpressionAttributeValues": {
            ":one": {"N": "1"},
            ":now": {"S": format_instant(now)},
            ":row": {"S": row_id},
        },
    }


def debit_credit(table: str, company_id: str, row_id: str) -> dict[str, Any]:
    """The update that spends one of the company's credits for ``row_id`` on its own (outside a transaction),
    refused when none is left. Its answer is the balance after the spend.

    ``last_spent_by`` makes botocore's resend of a spend that landed (its answer lost) a refusal that names
    this row, which the caller reads as done (``spent_by``), not as a second spend.
    """
    return {
        "TableName": table,
        "Key": company_key(company_id),
        "UpdateExpression": "SET credits = credits - :one, last_spent_by = :row",
        # NOT (a = b) holds when the company has no last spender yet.
        "ConditionExpression": "credits >= :one AND NOT last_spent_by = :row",
        "ExpressionAttributeValues": {":one": {"N": "1"}, ":row": {"S": row_id}},
        "ReturnValues": "UPDATED_NEW",
        "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
    }


def spent_by(item: dict[str, Any] | None) -> str | None:
    """The row that last spent a credit of the company whose item this is."""
    return (item or {}).get("last_spent_by", {}).get("S")


def credits_of(item: dict[str, Any] | None) -> int:
    return int((item or {}).get("credits", {}).get("N", "0"))


def refund_credit(table: str, company_id: str, now: datetime, credits: int = 1) -> dict[str, Any]:
    """The update that gives back credits spent: one for a row that was then not stored, or a batch call's
    reserved for contacts it never dialled."""
    return {
        "TableName": table,
        "Key": company_key(company_id),
        "UpdateExpression": "ADD credits :n SET updated_at = :now",
        "ExpressionAttributeValues": {":n": {"N": str(credits)}, ":now": {"S": format_instant(now)}},
    }


def idempotency_item_key(company_id: str, key: str) -> dict[str, Any]:
    """Where a company's Idempotency-Key is held: its own partition, by the key's SHA-256 (any bytes, any length)."""
    digest = hashlib.sha256(key.encode()).hexdigest()
    return {"pk": {"S": f"IK#{company_id}#{digest}"}, "sk": {"S": IDEMPOTENCY_SK}}


def hold_idempotency_key(table: str, row: Communication, claim: IdempotencyClaim) -> dict[str, Any]:
    """The transaction step that holds ``claim``'s key for ``row``: refused while the key is held and unexpired."""
    return {
        "TableName": table,
        "Item": {
            **idempotency_item_key(row.company_id, claim.key),
            "row_id": {"S": row.id},
            "request_sha256": {"S": claim.fingerprint},
            "created_at": {"S": format_instant(row.created_at)},
            # The table's TTL attribute; until DynamoDB removes it, the condition below ignores an expired key.
            "expires_at": {"N": str(int(claim.expires_at.timestamp()))},
        },
        "ConditionExpression": "attribute_not_exists(pk) OR expires_at < :now",
        "ExpressionAttributeValues": {":now": {"N": str(int(row.created_at.timestamp()))}},
    }


def diff_update(table: str, current: Communication, updated: Communication, shard_count: int) -> dict[str, Any]:
    """An UpdateItem request that turns the stored ``current`` into ``updated`` (index keys included)."""
    old = row_to_item(current, shard_count)
    new = row_to_item(updated, shard_count)
    names: dict[str, str] = {}
    values: dict[str, Any] = {}
    sets: list[str] = []
    removes: list[str] = []
    for i, name in enumerate(sorted(set(old) | set(new))):
        if name in ("pk", "sk") or old.get(name) == new.get(name):
            continue
        names[f"#a{i}"] = name
        if name in new:
            values[f":a{i}"] = new[name]
            sets.append(f"#a{i} = :a{i}")
        else:
            removes.append(f"#a{i}")
    clauses = [f"SET {', '.join(sets)}" if sets else "", f"REMOVE {', '.join(removes)}" if removes else ""]
    return {
        "TableName": table,
        "Key": row_key(current.company_id, current.id),
        "UpdateExpression": " ".join(clause for clause in clauses if clause),
        "ExpressionAttributeNames": names,
        "ExpressionAttributeValues": values,
    }


def rate_key(scope: RateScope) -> dict[str, Any]:
    """A send quota's item: a provider's, or one company's share of it."""
    pk = (
        f"RATE#{scope.provider}"
        if scope.company_id is None
        else f"RATE#{scope.provider}#{company_pk(scope.company_id)}"
    )
    return {"pk": {"S": pk}, "sk": {"S": RATE_SK}}


def _seconds(value: float) -> dict[str, str]:
    return {"N": f"{value:.6f}"}


def take_slots(table: str, scope: RateScope, span: float, now: float) -> dict[str, Any]:
    """Move the quota's schedule ``span`` seconds on, unconditionally (``ADD``: no read, no race): the
    caller's slots are the ``span`` seconds before the returned ``next_slot``."""
    return {
        "TableName": table,
        "Key": rate_key(scope),
        "UpdateExpression": "ADD #next :span SET expires_at = :expires",
        "ExpressionAttributeNames": {"#next": NEXT_SLOT},
        "ExpressionAttributeValues": {
            ":span": _seconds(span),
            ":expires": {"N": str(int(now + RATE_ITEM_KEPT.total_seconds()))},
        },
        "ReturnValues": "UPDATED_NEW",
    }


def restart_slots(table: str, scope: RateScope, span: float, now: float) -> dict[str, Any]:
    """Start an idle quota's schedule at ``now`` with the caller's ``span``; refused (a condition failure)
    when its schedule already reaches past ``now``, which another process restarted or kept busy."""
    return {
        "TableName": table,
        "Key": rate_key(scope),
        "UpdateExpression": "SET #next = :end, expires_at = :expires",
        "ConditionExpression": "attribute_not_exists(#next) OR #next <= :now",
        "ExpressionAttributeNames": {"#next": NEXT_SLOT},
        "ExpressionAttributeValues": {
            ":end": _seconds(now + span),
            ":now": _seconds(now),
            ":expires": {"N": str(int(now + RATE_ITEM_KEPT.total_seconds()))},
        },
    }


def next_slot_of(attributes: dict[str, Any]) -> float:
    return float(attributes[NEXT_SLOT]["N"])


# --- campaigns and contact folders --------------------------------------------------------------------------

CAMPAIGN_PREFIX = "CA#"
FOLDER_PREFIX = "CF#"
CONTACT_PREFIX = "CT#"
NUMBER_PREFIX = "PH#"
DAY_PREFIX = "DAY#"
_INDEX_DIGITS = 9


def campaign_key(company_id: str, campaign_id: str) -> dict[str, Any]:
    return {"pk": {"S": company_pk(company_id)}, "sk": {"S": f"{CAMPAIGN_PREFIX}{campaign_id}"}}


def folder_key(company_id: str, folder_id: str) -> dict[str, Any]:
    return {"pk": {"S": company_pk(company_id)}, "sk": {"S": f"{FOLDER_PREFIX}{folder_id}"}}


def contact_list_partition(prefix: str, company_id: str, list_id: str) -> str:
    """The partition of a campaign's (``CAMPAIGN_PREFIX``) or a folder's (``FOLDER_PREFIX``) contacts."""
    return f"{prefix}{company_id}#{list_id}"


def contact_sort_key(index: int) -> str:
    return f"{CONTACT_PREFIX}{index:0{_INDEX_DIGITS}d}"


def contact_key(partition: str, index: int) -> dict[str, Any]:
    return {"pk": {"S": partition}, "sk": {"S": contact_sort_key(index)}}


def contact_index_of(item: dict[str, Any]) -> int:
    return int(item["sk"]["S"].removeprefix(CONTACT_PREFIX))


def number_guard_key(partition: str, number: str) -> dict[str, Any]:
    return {"pk": {"S": partition}, "sk": {"S": f"{NUMBER_PREFIX}{number}"}}


def day_key(partition: str, local_date: date) -> dict[str, Any]:
    return {"pk": {"S": partition}, "sk": {"S": f"{DAY_PREFIX}{local_date.isoformat()}"}}


OUTCOME_COUNT_PREFIX = "o_"
TALK_BUCKET_PREFIX = "talk_h_"
TALK_TOTAL = "talk_total"


def outcome_attribute(kind: str) -> str:
    """The campaign item's counter of calls whose outcome was of ``kind``."""
    return f"{OUTCOME_COUNT_PREFIX}{kind}"


def talk_bucket_attribute(bound: int) -> str:
    """The campaign item's counter of conversations up to ``bound`` seconds long (the histogram's bucket)."""
    return f"{TALK_BUCKET_PREFIX}{bound}"


def count_attribute(status: str) -> str:
    """The campaign item's counter of contacts in ``status``."""
    return f"n_{status}"


_CAMPAIGN_COLUMNS = (
    "name",
    "agent_id",
    "phone_number_ids",
    "contact_source",
    "contact_folder_id",
    "dynamic_variables",
    "settings",
    "status",
    "contacts_total",
    "plan_epoch",
    "credits_reserved",
    "credits_returned",
    "contacts_dialled",
    "wound_down_at",
    "created_at",
    "updated_at",
)


def campaign_to_item(campaign: Campaign) -> dict[str, Any]:
    values = campaign.model_dump(mode="json", include=set(_CAMPAIGN_COLUMNS), exclude_none=True)
    for status, count in campaign.counts.items():
        values[count_attribute(status.value)] = count
    values["next_index"] = campaign.contacts_total
    return {**campaign_key(campaign.company_id, campaign.id), **to_attributes(values)}


def item_to_campaign(item: dict[str, Any]) -> Campaign:
    from scheduled_comms.models.campaigns import Campaign, ContactStatus

    values = from_attributes(item)
    counts = {
        status: int(values[count_attribute(status.value)])
        for status in ContactStatus
        if values.get(count_attribute(status.value))
    }
    fields = {name: values[name] for name in _CAMPAIGN_COLUMNS if name in values}
    return Campaign.model_validate(
        {
            **fields,
            "id": item["sk"]["S"].removeprefix(CAMPAIGN_PREFIX),
            "company_id": item["pk"]["S"].removeprefix("CO#"),
            "counts": counts,
        }
    )


def folder_to_item(folder: ContactFolder) -> dict[str, Any]:
    values = folder.model_dump(mode="json", exclude={"id", "company_id"})
    values["next_index"] = folder.contacts_total
    return {**folder_key(folder.company_id, folder.id), **to_attributes(values)}


def item_to_folder(item: dict[str, Any]) -> ContactFolder:
    from scheduled_comms.models.campaigns import ContactFolder

    values = {k: v for k, v in from_attributes(item).items() if k not in ("pk", "sk", "next_index")}
    values["id"] = item["sk"]["S"].removeprefix(FOLDER_PREFIX)
    values["company_id"] = item["pk"]["S"].removeprefix("CO#")
    return ContactFolder.model_validate(values)


def contact_to_item(partition: str, contact: CampaignContact) -> dict[str, Any]:
    values = contact.model_dump(mode="json", exclude={"index", "contact"}, exclude_none=True)
    if values.get("attempts") == 0:
        del values["attempts"]
    person = contact.contact.model_dump(mode="json", exclude_none=True)
    if not person.get("dynamic_variables"):
        person.pop("dynamic_variables", None)
    return {**contact_key(partition, contact.index), **to_attributes({**person, **values})}


_PERSON_FIELDS = ("phone_number", "name", "contact_id", "timezone", "dynamic_variables")


def item_to_contact(item: dict[str, Any]) -> CampaignContact:
    from scheduled_comms.models.campaigns import CampaignContact, Contact

    values = {k: v for k, v in from_attributes(item).items() if k not in ("pk", "sk")}
    person = {name: values.pop(name) for name in _PERSON_FIELDS if name in values}
    return CampaignContact.model_validate(
        {**values, "index": contact_index_of(item), "contact": Contact.model_construct(**person)}
    )


def hold_answered_key(table: str, company_id: str, claim: IdempotencyClaim, now: datetime) -> dict[str, Any]:
    """A PutItem that holds ``claim``'s key (its answer to come): refused while the key is held and unexpired."""
    return {
        "TableName": table,
        "Item": {
            **idempotency_item_key(company_id, claim.key),
            "request_sha256": {"S": claim.fingerprint},
            "created_at": {"S": format_instant(now)},
            "expires_at": {"N": str(int(claim.expires_at.timestamp()))},
        },
        "ConditionExpression": "attribute_not_exists(pk) OR expires_at < :now",
        "ExpressionAttributeValues": {":now": {"N": str(int(now.timestamp()))}},
    }


def held_key_of(item: dict[str, Any]) -> HeldKey:
    """What holds a key: a campaign route's answer, or the row ``POST /scheduled-communications`` created
    (such a key is never another campaign request's: its fingerprint differs)."""
    answer = None
    if "answer_status" in item:
        answer = (int(item["answer_status"]["N"]), json.loads(item["answer_body"]["S"]))
    return HeldKey(fingerprint=item["request_sha256"]["S"], answer=answer)


PLAN_SK = "#PLAN"


def plan_key(partition: str) -> dict[str, Any]:
    """A campaign's plan checkpoint and lease, in its contacts' partition."""
    return {"pk": {"S": partition}, "sk": {"S": PLAN_SK}}


def taken_to_attribute(taken: dict[date, int]) -> dict[str, Any]:
    return {"M": {day.isoformat(): {"N": str(count)} for day, count in taken.items()}}


def taken_of(attribute: dict[str, Any] | None) -> dict[date, int]:
    return {date.fromisoformat(day): int(count["N"]) for day, count in (attribute or {}).get("M", {}).items()}


def campaign_of_key(keys: dict[str, Any]) -> tuple[str, str] | None:
    """(company, campaign) of a campaign item's key (a stream record's ``Keys``), or None for another item."""
    sort_key = str(keys.get("sk", {}).get("S", ""))
    if not sort_key.startswith(CAMPAIGN_PREFIX):
        return None
    return str(keys["pk"]["S"]).removeprefix("CO#"), sort_key.removeprefix(CAMPAIGN_PREFIX)


SLOTS_SK = "#SLOTS"


def slots_key(partition: str) -> dict[str, Any]:
    """A campaign's call slots: ``slots`` maps each call in flight (its row id) to when its slot expires."""
    return {"pk": {"S": partition}, "sk": {"S": SLOTS_SK}}
