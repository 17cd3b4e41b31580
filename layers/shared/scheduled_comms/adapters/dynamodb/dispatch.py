"""The tick's side of the table: the due query, claims, and fenced transitions.

A claim is one conditional update (pending and due -> dispatching, ``attempt_count`` + 1, a lease).
The row keeps its ``Due`` keys while dispatching, so the same query that finds due rows finds those
whose lease ran out. ``attempt_count`` is the fence: every later write on the claimed row is
conditional on it, so a tick that lost its lease can no longer write.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from botocore.exceptions import ClientError
from scheduled_comms.adapters.aws import client as aws_client
from scheduled_comms.adapters.dynamodb.items import (
    body_item,
    cancellation_key_item,
    company_id_of,
    condition_failed,
    diff_update,
    due_shard_key,
    get_row,
    read_body,
    row_id_of,
    row_key,
    row_to_item,
    spend_credit,
)
from scheduled_comms.adapters.dynamodb.items import (
    refund_credit as credit_refund,
)
from scheduled_comms.errors import InsufficientCredits
from scheduled_comms.models.domain import Channel, Communication, DueRow, Status
from scheduled_comms.models.values import format_instant, parse_instant

# Pages of the Due index read per shard to fill one batch (live leases are read and dropped by a filter).
_MAX_DUE_PAGES = 4


def _due_row(item: dict[str, Any]) -> DueRow:
    return DueRow(
        company_id=company_id_of(item),
        row_id=row_id_of(item),
        channel=Channel(item["channel"]["S"]),
        due_at=parse_instant(item["scheduled_for"]["S"]),
        lease_expired=item["status"]["S"] == Status.DISPATCHING.value,
    )


class DynamoDispatchStore:
    def __init__(self, table_name: str, shard_count: int, client: Any | None = None) -> None:
        self._table = table_name
        self._shards = shard_count
        self._client = client or aws_client("dynamodb")

    @property
    def shard_count(self) -> int:
        return self._shards

    def due(self, shard: int, now: datetime, limit: int, until: datetime | None = None) -> list[DueRow]:
        """Rows of one shard due by ``until`` (default ``now``), oldest first: pending ones, and dispatching
        ones whose lease ran out by ``now``."""
        request: dict[str, Any] = {
            "TableName": self._table,
            "IndexName": "Due",
            "KeyConditionExpression": "due_shard = :shard AND scheduled_for <= :until",
            "FilterExpression": "#status = :pending OR lease_until <= :now",
            "ExpressionAttributeNames": {"#status": "status"},
            "ExpressionAttributeValues": {
                ":shard": {"S": due_shard_key(shard)},
                ":now": {"S": format_instant(now)},
                ":until": {"S": format_instant(until or now)},
                ":pending": {"S": Status.PENDING.value},
            },
            "Limit": limit,
        }
        found: list[DueRow] = []
        for _ in range(_MAX_DUE_PAGES):
            response = self._client.query(**request)
            found.extend(_due_row(item) for item in response.get("Items", []))
            if len(found) >= limit or "LastEvaluatedKey" not in response:
                break
            request["ExclusiveStartKey"] = response["LastEvaluatedKey"]
        return found[:limit]

    def claim(self, key: DueRow, now: datetime, lease_until: datetime) -> Communication | None:
        """Pending and due -> dispatching, in one conditional update; None when another tick won."""
        return self._update_returning_row(
            key,
            "SET #status = :dispatching, attempt_count = attempt_count + :one, lease_until = :lease, updated_at = :now",
            "#status = :pending AND scheduled_for <= :now",
            {":pending": {"S": Status.PENDING.value}},
            now,
            lease_until,
        )

    def take_over(self, key: DueRow, now: datetime, lease_until: datetime) -> Communication | None:
        """Re-claim a dispatching row whose lease expired: a new fence, and its key for a resend."""
        return self._update_returning_row(
            key,
            "SET attempt_count = attempt_count + :one, lease_until = :lease, updated_at = :now, "
            "resend_of_attempt = if_not_exists(resend_of_attempt, attempt_count)",
            "#status = :dispatching AND lease_until <= :now",
            {},
            now,
            lease_until,
        )

    def _update_returning_row(
        self, key: DueRow, update: str, condition: str, values: dict[str, Any], now: datetime, lease_until: datetime
    ) -> Communication | None:
        try:
            response = self._client.update_item(
                TableName=self._table,
                Key=row_key(key.company_id, key.row_id),
                UpdateExpression=update,
                ConditionExpression=condition,
                ExpressionAttributeNames={"#status": "status"},
                ExpressionAttributeValues={
                    ":dispatching": {"S": Status.DISPATCHING.value},
                    ":one": {"N": "1"},
                    ":lease": {"S": format_instant(lease_until)},
                    ":now": {"S": format_instant(now)},
                    **values,
                },
                ReturnValues="ALL_NEW",
            )
        except ClientError as exc:
            if condition_failed(exc):
                return None
            raise
        return read_body(self._client, self._table, response["Attributes"])

    def transition(
        self,
        current: Communication,
        updated: Communication,
        also_create: Communication | None = None,
        refund_credit: bool = False,
    ) -> bool:
        """Write ``updated`` over the claimed ``current`` if its fence still holds (and, atomically, a new row,
        or the row's credit given back).

        A new pending row spends one of the company's credits in the same transaction; with none left,
        nothing is written and ``InsufficientCredits`` is raised. Returns False when fenced out: another
        tick took the row over after this one's lease ran out.
        """
        request = diff_update(self._table, current, updated, self._shards)
        request["ConditionExpression"] = "#status = :dispatching AND attempt_count = :fence"
        request["ExpressionAttributeNames"]["#status"] = "status"
        request["ExpressionAttributeValues"][":dispatching"] = {"S": Status.DISPATCHING.value}
        request["ExpressionAttributeValues"][":fence"] = {"N": str(current.attempt_count)}
        try:
            if also_create is None and refund_credit:
                # Rare (a row kept from its recipient): the refund and the row's end are one transaction, so
                # the credit comes back exactly once; the token makes botocore's resend apply nothing twice.
                refund = {"Update": credit_refund(self._table, current.company_id, updated.updated_at)}
                token = str(uuid.uuid5(uuid.NAMESPACE_URL, f"refund:{current.id}:{current.attempt_count}"))
                self._client.transact_write_items(TransactItems=[{"Update": request}, refund], ClientRequestToken=token)
                return True
            if also_create is None:
                self._client.update_item(**request)
                return True
            body = body_item(also_create)
            if body is not None:  # written once, before the row that names it
                self._client.put_item(TableName=self._table, Item=body)
            items: list[dict[str, Any]] = [
                {"Update": request},
                {
                    "Put": {
                        "TableName": self._table,
                        "Item": row_to_item(also_create, self._shards),
                        "ConditionExpression": "attribute_not_exists(pk)",
                    }
                },
            ]
            if also_create.status is Status.PENDING:
                items.append(
                    {
                        "Update": spend_credit(
                            self._table, also_create.company_id, also_create.created_at, also_create.id
                        )
                    }
                )
            key_item = cancellation_key_item(also_create)
            if key_item is not None:  # after the credit's step, whose place the refusal below reads
                items.append({"Put": {"TableName": self._table, "Item": key_item}})
            # The new row's id is the token: a resend after a lost answer applies nothing twice.
            self._client.transact_write_items(TransactItems=items, ClientRequestToken=also_create.id)
        except ClientError as exc:
            reasons = [r.get("Code") for r in exc.response.get("CancellationReasons") or []]
            if reasons[2:3] == ["ConditionalCheckFailed"] and reasons[0] != "ConditionalCheckFailed":
                raise InsufficientCredits("No credits left to queue the next call") from exc
            if condition_failed(exc):
                return False
            raise
        return True

    def get(self, company_id: str, row_id: str) -> Communication | None:
        return get_row(self._client, self._table, company_id, row_id, consistent=True)

    def record_call_outcome(self, row: Communication, outcome: dict[str, Any]) -> bool:
        """Store a call's outcome once, and only on the row that placed ``outcome["call_id"]``."""
        request = diff_update(self._table, row, row.model_copy(update={"call_outcome": outcome}), self._shards)
        request["ConditionExpression"] = "attribute_not_exists(#outcome) AND #external_id = :call_id"
        names = request["ExpressionAttributeNames"]
        names.update({"#outcome": "call_outcome", "#external_id": "dispatched_external_id"})
        request["ExpressionAttributeValues"][":call_id"] = {"S": outcome["call_id"]}
        return self._update_if(request)

    def update_if_status(self, current: Communication, updated: Communication, expected: Status) -> bool:
        """Write ``updated`` if the row still has status ``expected`` (webhook-side changes)."""
        request = diff_update(self._table, current, updated, self._shards)
        if not request["ExpressionAttributeNames"]:
            return True
        request["ConditionExpression"] = "#status = :expected"
        request["ExpressionAttributeNames"]["#status"] = "status"
        request["ExpressionAttributeValues"][":expected"] = {"S": expected.value}
        return self._update_if(request)

    def _update_if(self, request: dict[str, Any]) -> bool:
        """An UpdateItem with a condition: False when the condition did not hold."""
        try:
            self._client.update_item(**request)
        except ClientError as exc:
            if condition_failed(exc):
                return False
            raise
        return True
