"""DynamoDB storage: one table, partitioned per company, with sparse filter indexes and a sharded due index.

Item layout (the storage shape; the domain model never sees these keys):

* company      ``pk=CO#<company>``  ``sk=#COMPANY``     credits, name
* row          ``pk=CO#<company>``  ``sk=SC#<uuid7>``   the communication; uuid7 sorts by creation time
* API key      ``pk=KEY#<key_id>``  ``sk=#KEY``         company, scopes, sha256 of the secret, revoked_at

Filter indexes (partition ``<company>#<value>``, sort ``sk``, so every list is newest-first):
``ByStatus``, ``ByChannel``, ``ByStatusChannel``, ``ByContact``, ``ByDeal``, ``ByCustomer``.
``Due`` (partition ``pending#<shard>``, sort ``scheduled_for``) is carried only by pending rows.
"""

from __future__ import annotations

import json
import zlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.exceptions import ClientError
from scheduled_comms.models.domain import TERMINAL, Communication, Status
from scheduled_comms.models.values import format_instant
from scheduled_comms.settings import get_settings

COMPANY_SK = "#COMPANY"
KEY_SK = "#KEY"
ROW_PREFIX = "SC#"

_serializer = TypeSerializer()
_deserializer = TypeDeserializer()


def to_attributes(values: dict[str, Any]) -> dict[str, Any]:
    """Plain JSON-like values to DynamoDB's typed form (floats become Decimals)."""
    clean = json.loads(json.dumps(values), parse_float=Decimal)
    return {name: _serializer.serialize(value) for name, value in clean.items()}


def from_attributes(item: dict[str, Any]) -> dict[str, Any]:
    return {name: _plain(_deserializer.deserialize(value)) for name, value in item.items()}


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | set):
        return [_plain(v) for v in value]
    return value


def company_pk(company_id: str) -> str:
    return f"CO#{company_id}"


def row_key(company_id: str, row_id: str) -> dict[str, Any]:
    return {"pk": {"S": company_pk(company_id)}, "sk": {"S": f"{ROW_PREFIX}{row_id}"}}


def api_key_key(key_id: str) -> dict[str, Any]:
    return {"pk": {"S": f"KEY#{key_id}"}, "sk": {"S": KEY_SK}}


def company_key(company_id: str) -> dict[str, Any]:
    return {"pk": {"S": company_pk(company_id)}, "sk": {"S": COMPANY_SK}}


def due_shard(row_id: str, shard_count: int) -> str:
    return f"pending#{zlib.crc32(row_id.encode()) % shard_count}"


def lease_shard(row_id: str, shard_count: int) -> str:
    return f"lease#{zlib.crc32(row_id.encode()) % shard_count}"


@dataclass(frozen=True)
class _Index:
    name: str
    attribute: str
    fields: tuple[str, ...]

    def value(self, company_id: str, source: Any) -> str | None:
        parts = [getattr(source, field) for field in self.fields]
        if any(part is None for part in parts):
            return None
        return "#".join([company_id, *(str(part) for part in parts)])


# In order of preference when several filters are given: entity links are the most selective.
FILTER_INDEXES = (
    _Index("ByContact", "gsi_contact", ("contact_id",)),
    _Index("ByDeal", "gsi_deal", ("deal_id",)),
    _Index("ByCustomer", "gsi_customer", ("customer_id",)),
    _Index("ByStatusChannel", "gsi_status_channel", ("status", "channel")),
    _Index("ByStatus", "gsi_status", ("status",)),
    _Index("ByChannel", "gsi_channel", ("channel",)),
)
FILTER_FIELDS = ("status", "channel", "contact_id", "deal_id", "customer_id")


def row_to_item(row: Communication, shard_count: int) -> dict[str, Any]:
    values: dict[str, Any] = {key: value for key, value in row.model_dump(mode="json").items() if value is not None}
    values["pk"] = company_pk(row.company_id)
    values["sk"] = f"{ROW_PREFIX}{row.id}"
    for index in FILTER_INDEXES:
        key = index.value(row.company_id, row)
        if key is not None:
            values[index.attribute] = key
    if row.status is Status.PENDING:
        values["due_shard"] = due_shard(row.id, shard_count)
    if row.status is Status.DISPATCHING and row.lease_until is not None:
        values["lease_shard"] = lease_shard(row.id, shard_count)
    if row.status in TERMINAL:
        # The table's TTL attribute: a terminal row is deleted once its retention has passed.
        retention = timedelta(days=get_settings().retention_days)
        values["expires_at"] = int((row.updated_at + retention).timestamp())
    return to_attributes(values)


_STORAGE_ONLY = {
    "pk",
    "sk",
    "due_shard",
    "lease_shard",
    "expires_at",
    *(index.attribute for index in FILTER_INDEXES),
}


def item_to_row(item: dict[str, Any]) -> Communication:
    values = {k: v for k, v in from_attributes(item).items() if k not in _STORAGE_ONLY}
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


def spend_credit(table: str, company_id: str, now: datetime) -> dict[str, Any]:
    """The transaction step that spends one of the company's credits, or cancels the transaction if none is left."""
    return {
        "TableName": table,
        "Key": company_key(company_id),
        "UpdateExpression": "SET credits = credits - :one, updated_at = :now",
        "ConditionExpression": "credits >= :one",
        "ExpressionAttributeValues": {":one": {"N": "1"}, ":now": {"S": format_instant(now)}},
    }


def diff_update(table: str, current: Communication, updated: Communication, shard_count: int) -> dict[str, Any]:
    """An UpdateItem request that turns the stored ``current`` into ``updated`` (index keys included)."""
    old = from_attributes(row_to_item(current, shard_count))
    new = from_attributes(row_to_item(updated, shard_count))
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
        "ExpressionAttributeValues": to_attributes(values),
    }
