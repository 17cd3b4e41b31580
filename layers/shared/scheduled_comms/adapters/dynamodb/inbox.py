"""People's in-app inboxes in DynamoDB (``items``: ``IB#`` entries, ``IM#`` pointers and the ``#INBOX`` head in
the person's partition). A feed is a query of the person's partition, newest first: never a scan."""

from __future__ import annotations

from typing import Any

from scheduled_comms.adapters.aws import client as aws_client
from scheduled_comms.adapters.dynamodb.items import (
    INBOX_PREFIX,
    from_attributes,
    inbox_entry_sk,
    inbox_head_key,
    inbox_key,
    inbox_pointer_key,
    person_pk,
    to_attributes,
)
from scheduled_comms.models.inbox import InboxEntry, InboxHead, InboxPage, InboxStatus
from scheduled_comms.models.values import format_instant

_MARKS = ("seen_at", "read_at", "archived_at")
# Pages read at most for one feed page when a status filter leaves few entries of each.
MAX_PASSES = 5


def _entry_of(item: dict[str, Any]) -> InboxEntry:
    values = from_attributes({k: v for k, v in item.items() if k not in ("pk", "sk", "state")})
    return InboxEntry.model_validate(values)


def _entry_item(company_id: str, entry: InboxEntry) -> dict[str, Any]:
    values = {k: v for k, v in entry.model_dump(mode="json").items() if v is not None}
    sk = inbox_entry_sk(entry.landed_at, entry.message_id)
    return {**inbox_key(company_id, entry.person_id, sk), **to_attributes(values), "state": {"S": entry.status.value}}


class DynamoInboxStore:
    """``InboxStore`` over the communications table."""

    def __init__(self, table_name: str, client: Any | None = None) -> None:
        self._table = table_name
        self._client = client or aws_client("dynamodb")

    def land(self, company_id: str, entry: InboxEntry) -> bool:
        sk = inbox_entry_sk(entry.landed_at, entry.message_id)
        try:
            self._client.transact_write_items(
                TransactItems=[
                    {
                        "Put": {
                            "TableName": self._table,
                            "Item": {
                                **inbox_pointer_key(company_id, entry.person_id, entry.message_id),
                                "entry_sk": {"S": sk},
                            },
                            "ConditionExpression": "attribute_not_exists(pk)",
                        }
                    },
                    {"Put": {"TableName": self._table, "Item": _entry_item(company_id, entry)}},
                    {
                        "Update": {
                            "TableName": self._table,
                            "Key": inbox_head_key(company_id, entry.person_id),
                            "UpdateExpression": "ADD unseen :one, unread :one, version :one",
                            "ExpressionAttributeValues": {":one": {"N": "1"}},
                        }
                    },
                ]
            )
        except self._client.exceptions.TransactionCanceledException as exc:
            reasons = exc.response.get("CancellationReasons", [])
            if reasons and reasons[0].get("Code") == "ConditionalCheckFailed":
                return False  # landed by an earlier attempt
            raise
        return True

    def head(self, company_id: str, person_id: str) -> InboxHead:
        item = self._client.get_item(
            TableName=self._table, Key=inbox_head_key(company_id, person_id), ConsistentRead=True
        ).get("Item")
        if not item:
            return InboxHead()
        values = from_attributes({k: v for k, v in item.items() if k not in ("pk", "sk")})
        return InboxHead(
            unseen=max(0, int(values.get("unseen", 0))),
            unread=max(0, int(values.get("unread", 0))),
            version=int(values.get("version", 0)),
        )

    def page(
        self, company_id: str, person_id: str, status: InboxStatus | None, limit: int, after: str | None
    ) -> InboxPage:
        request: dict[str, Any] = {
            "TableName": self._table,
            "KeyConditionExpression": "pk = :pk AND begins_with(sk, :prefix)",
            "ExpressionAttributeValues": {
                ":pk": {"S": person_pk(company_id, person_id)},
                ":prefix": {"S": INBOX_PREFIX},
            },
            "ExpressionAttributeNames": {"#state": "state"},
            "ScanIndexForward": False,
            "ConsistentRead": True,
        }
        if status is None:
            request["FilterExpression"] = "#state <> :archived"
            request["ExpressionAttributeValues"][":archived"] = {"S": InboxStatus.ARCHIVED.value}
        else:
            request["FilterExpression"] = "#state = :state"
            request["ExpressionAttributeValues"][":state"] = {"S": status.value}
        found: list[InboxEntry] = []
        after_sk = after
        for _ in range(MAX_PASSES):
            request["Limit"] = limit - len(found)
            if after_sk:
                request["ExclusiveStartKey"] = {**inbox_key(company_id, person_id, after_sk)}
            response = self._client.query(**request)
            items = response.get("Items", [])
            found.extend(_entry_of(item) for item in items)
            last = response.get("LastEvaluatedKey")
            after_sk = last["sk"]["S"] if last else None
            if after_sk is None or len(found) >= limit:
                break
        return InboxPage(entries=found, next_after=after_sk)

    def entry(self, company_id: str, person_id: str, message_id: str) -> InboxEntry | None:
        pointer = self._client.get_item(
            TableName=self._table, Key=inbox_pointer_key(company_id, person_id, message_id), ConsistentRead=True
        ).get("Item")
        if not pointer:
            return None
        item = self._client.get_item(
            TableName=self._table,
            Key=inbox_key(company_id, person_id, pointer["entry_sk"]["S"]),
            ConsistentRead=True,
        ).get("Item")
        return _entry_of(item) if item else None

    def save_marks(self, company_id: str, current: InboxEntry, marked: InboxEntry) -> bool:
        sets, conditions = [], []
        values: dict[str, Any] = {}
        names: dict[str, str] = {"#state": "state"}
        for i, name in enumerate(_MARKS):
            names[f"#m{i}"] = name
            before, after = getattr(current, name), getattr(marked, name)
            conditions.append(f"attribute_exists(#m{i})" if before is not None else f"attribute_not_exists(#m{i})")
            if before is None and after is not None:
                sets.append(f"#m{i} = :m{i}")
                values[f":m{i}"] = {"S": format_instant(after)}
        if not sets:
            return True
        sets.append("#state = :state")
        values[":state"] = {"S": marked.status.value}
        unseen = int(current.seen_at is None and marked.seen_at is not None)
        unread = int(current.read_at is None and marked.read_at is not None)
        sk = inbox_entry_sk(current.landed_at, current.message_id)
        try:
            self._client.transact_write_items(
                TransactItems=[
                    {
                        "Update": {
                            "TableName": self._table,
                            "Key": inbox_key(company_id, current.person_id, sk),
                            "UpdateExpression": "SET " + ", ".join(sets),
                            "ConditionExpression": "attribute_exists(pk) AND " + " AND ".join(conditions),
                            "ExpressionAttributeNames": names,
                            "ExpressionAttributeValues": values,
                        }
                    },
                    {
                        "Update": {
                            "TableName": self._table,
                            "Key": inbox_head_key(company_id, current.person_id),
                            "UpdateExpression": "ADD unseen :unseen, unread :unread, version :one",
                            "ExpressionAttributeValues": {
                                ":unseen": {"N": str(-unseen)},
                                ":unread": {"N": str(-unread)},
                                ":one": {"N": "1"},
                            },
                        }
                    },
                ]
            )
        except self._client.exceptions.TransactionCanceledException:
            return False
        return True
