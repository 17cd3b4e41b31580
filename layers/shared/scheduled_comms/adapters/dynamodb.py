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
import random
import time
import zlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, cast

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.exceptions import ClientError
from scheduled_comms.adapters.aws import client as aws_client
from scheduled_comms.errors import Conflict, InsufficientCredits, NotFound, NotPending
from scheduled_comms.models.domain import TERMINAL, ApiKeyRecord, Communication, ListFilters, Page, Status
from scheduled_comms.models.values import format_instant
from scheduled_comms.settings import get_settings

COMPANY_SK = "#COMPANY"
_CONFLICT_RETRIES = 4
MAX_QUERY_PAGES_PER_LIST = 5
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
_FILTER_FIELDS = ("status", "channel", "contact_id", "deal_id", "customer_id")


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


def _is_condition_failure(exc: ClientError) -> bool:
    return exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException"


def spend_credit(table: str, company_id: str, now: datetime) -> dict[str, Any]:
    """The transaction step that spends one of the company's credits, or cancels the transaction if none is left."""
    return {
        "TableName": table,
        "Key": company_key(company_id),
        "UpdateExpression": "SET credits = credits - :one, updated_at = :now",
        "ConditionExpression": "credits >= :one",
        "ExpressionAttributeValues": {":one": {"N": "1"}, ":now": {"S": format_instant(now)}},
    }


class DynamoCommunicationStore:
    """``CommunicationStore`` on DynamoDB."""

    def __init__(self, table_name: str, shard_count: int, client: Any | None = None) -> None:
        self._table = table_name
        self._shards = shard_count
        self._client = client or aws_client("dynamodb")

    def create(self, row: Communication) -> int:
        items = [
            {"Update": spend_credit(self._table, row.company_id, row.created_at)},
            {
                "Put": {
                    "TableName": self._table,
                    "Item": row_to_item(row, self._shards),
                    "ConditionExpression": "attribute_not_exists(pk)",
                }
            },
        ]
        for attempt in range(_CONFLICT_RETRIES):
            try:
                # The token makes a resend (botocore's retry after a lost answer, or ours) apply at most once.
                self._client.transact_write_items(TransactItems=items, ClientRequestToken=row.id)
                break
            except ClientError as exc:
                if exc.response.get("Error", {}).get("Code") != "TransactionCanceledException":
                    raise
                reasons = [r.get("Code") for r in exc.response.get("CancellationReasons") or []]
                if len(reasons) > 1 and reasons[1] == "ConditionalCheckFailed" and self._is_stored(row):
                    break  # an earlier attempt of this very request landed: its row and its credit stand
                if reasons and reasons[0] == "ConditionalCheckFailed":
                    raise InsufficientCredits("No credits left: scheduling a communication costs one credit") from exc
                if "TransactionConflict" not in reasons:
                    raise
                if attempt == _CONFLICT_RETRIES - 1:
                    raise Conflict("Too many concurrent requests for this company; retry shortly") from exc
                # Another create touched the company's credit item at the same moment: try again shortly.
                time.sleep(random.uniform(0.01, 0.05) * (attempt + 1))
        return DynamoCreditLedger(self._table, self._client).balance(row.company_id, consistent=True)

    def get(self, company_id: str, row_id: str) -> Communication | None:
        item = self._client.get_item(TableName=self._table, Key=row_key(company_id, row_id)).get("Item")
        return item_to_row(item) if item else None

    def _is_stored(self, row: Communication) -> bool:
        """Whether ``row`` itself is in the table (its id is random: another row cannot hold it)."""
        item = self._client.get_item(
            TableName=self._table, Key=row_key(row.company_id, row.id), ConsistentRead=True
        ).get("Item")
        return item is not None and item_to_row(item).created_at == row.created_at

    def list(self, company_id: str, filters: ListFilters, limit: int, after_id: str | None) -> Page:
        wanted = limit + 1  # one more than asked tells whether another page exists
        found: list[Communication] = []
        for page_number, (items, last_key) in enumerate(self._query(company_id, filters, after_id, page_size=wanted)):
            for item in items:
                found.append(item_to_row(item))
                if len(found) == wanted:
                    return Page(items=found[:limit], next_after_id=found[limit - 1].id)
            if last_key is None:
                break
            if page_number + 1 >= MAX_QUERY_PAGES_PER_LIST:
                # A filter matched little of what the index read: stop, and go on from where reading stopped.
                return Page(items=found, next_after_id=last_key["sk"]["S"].removeprefix(ROW_PREFIX))
        return Page(items=found, next_after_id=None)

    def _query(
        self, company_id: str, filters: ListFilters, after_id: str | None, page_size: int
    ) -> Iterator[tuple[Sequence[dict[str, Any]], dict[str, Any] | None]]:
        """Pages of items, each with the key reading stopped at (None after the last page)."""
        index = next((ix for ix in FILTER_INDEXES if ix.value(company_id, filters) is not None), None)
        names: dict[str, str] = {"#k": "pk" if index is None else index.attribute}
        values: dict[str, Any] = {}
        if index is None:
            condition = "#k = :k AND begins_with(sk, :prefix)"
            values[":k"] = {"S": company_pk(company_id)}
            values[":prefix"] = {"S": ROW_PREFIX}
        else:
            condition = "#k = :k"
            values[":k"] = {"S": index.value(company_id, filters)}
        residual = [
            field
            for field in _FILTER_FIELDS
            if getattr(filters, field) is not None and (index is None or field not in index.fields)
        ]
        request: dict[str, Any] = {
            "TableName": self._table,
            "KeyConditionExpression": condition,
            "ScanIndexForward": False,
            "Limit": page_size if not residual else max(page_size, 100),
        }
        if index is not None:
            request["IndexName"] = index.name
        if residual:
            request["FilterExpression"] = " AND ".join(f"#f{i} = :f{i}" for i in range(len(residual)))
            for i, field in enumerate(residual):
                names[f"#f{i}"] = field
                values[f":f{i}"] = {"S": str(getattr(filters, field))}
        request["ExpressionAttributeNames"] = names
        request["ExpressionAttributeValues"] = values
        if after_id is not None:
            start = row_key(company_id, after_id)
            if index is not None:
                start[index.attribute] = values[":k"]
            request["ExclusiveStartKey"] = start
        while True:
            response = self._client.query(**request)
            yield response.get("Items", []), response.get("LastEvaluatedKey")
            if "LastEvaluatedKey" not in response:
                return
            request["ExclusiveStartKey"] = response["LastEvaluatedKey"]

    def update_pending(self, row: Communication, changes: dict[str, Any], now: datetime) -> Communication:
        updated = row.model_copy(update={**changes, "updated_at": now})
        return self._write_if_pending(row, updated)

    def cancel_pending(self, row: Communication, now: datetime) -> Communication:
        updated = row.model_copy(update={"status": Status.CANCELLED, "cancelled_at": now, "updated_at": now})
        return self._write_if_pending(row, updated)

    def _write_if_pending(self, current: Communication, updated: Communication) -> Communication:
        """Replace the row's changed attributes, on condition that it is still pending."""
        request = diff_update(self._table, current, updated, self._shards)
        request["ConditionExpression"] = "attribute_exists(pk) AND #status = :expected"
        request["ExpressionAttributeNames"]["#status"] = "status"
        request["ExpressionAttributeValues"][":expected"] = {"S": Status.PENDING.value}
        try:
            response = self._client.update_item(
                **request, ReturnValues="ALL_NEW", ReturnValuesOnConditionCheckFailure="ALL_OLD"
            )
        except ClientError as exc:
            if not _is_condition_failure(exc):
                raise
            old_item = cast(dict[str, Any], exc.response).get("Item")
            if old_item:
                status = from_attributes(old_item).get("status")
                raise NotPending(f"Only pending rows can be changed; this one is {status}") from exc
            raise NotFound("No scheduled communication with this id") from exc
        return item_to_row(response["Attributes"])


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


class DynamoCreditLedger:
    """Company credit balances (``credits`` on the company item)."""

    def __init__(self, table_name: str, client: Any | None = None) -> None:
        self._table = table_name
        self._client = client or aws_client("dynamodb")

    def balance(self, company_id: str, consistent: bool = False) -> int:
        item = self._client.get_item(
            TableName=self._table,
            Key=company_key(company_id),
            ProjectionExpression="credits",
            ConsistentRead=consistent,
        ).get("Item")
        return int(from_attributes(item).get("credits", 0)) if item else 0

    def grant(self, company_id: str, amount: int, now: datetime, name: str | None = None) -> int:
        """Add ``amount`` credits (creating the company record if needed); returns the new balance."""
        names = {"#c": "credits", "#cid": "company_id", "#u": "updated_at", "#cr": "created_at"}
        values = {":n": amount, ":cid": company_id, ":now": format_instant(now)}
        expression = "ADD #c :n SET #cid = :cid, #u = :now, #cr = if_not_exists(#cr, :now)"
        if name is not None:
            names["#name"] = "name"
            values[":name"] = name
            expression += ", #name = :name"
        response = self._client.update_item(
            TableName=self._table,
            Key=company_key(company_id),
            UpdateExpression=expression,
            ExpressionAttributeNames=names,
            ExpressionAttributeValues=to_attributes(values),
            ReturnValues="UPDATED_NEW",
        )
        return int(from_attributes(response["Attributes"])["credits"])


class DynamoApiKeyStore:
    """API keys: only the SHA-256 of each key is stored."""

    def __init__(self, table_name: str, client: Any | None = None) -> None:
        self._table = table_name
        self._client = client or aws_client("dynamodb")

    @staticmethod
    def _key(key_id: str) -> dict[str, Any]:
        return {"pk": {"S": f"KEY#{key_id}"}, "sk": {"S": KEY_SK}}

    def put(self, record: ApiKeyRecord) -> None:
        values = {k: v for k, v in record.__dict__.items() if v is not None}
        values["scopes"] = list(record.scopes)
        item = {**to_attributes(values), **self._key(record.key_id)}
        self._client.put_item(TableName=self._table, Item=item, ConditionExpression="attribute_not_exists(pk)")

    def get(self, key_id: str) -> ApiKeyRecord | None:
        item = self._client.get_item(TableName=self._table, Key=self._key(key_id)).get("Item")
        if not item:
            return None
        values = {k: v for k, v in from_attributes(item).items() if k not in ("pk", "sk")}
        values["scopes"] = tuple(values.get("scopes", ()))
        return ApiKeyRecord(**values)

    def revoke(self, key_id: str, now: datetime) -> None:
        try:
            self._client.update_item(
                TableName=self._table,
                Key=self._key(key_id),
                UpdateExpression="SET revoked_at = if_not_exists(revoked_at, :now)",
                ConditionExpression="attribute_exists(pk)",
                ExpressionAttributeValues={":now": {"S": format_instant(now)}},
            )
        except ClientError as exc:
            if _is_condition_failure(exc):
                raise NotFound("No API key with this id") from exc
            raise
