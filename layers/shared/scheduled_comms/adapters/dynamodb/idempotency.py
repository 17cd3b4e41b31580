"""Idempotency-Keys whose request's answer is stored with them (``logic.idempotency``)."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any, cast

from botocore.exceptions import ClientError
from scheduled_comms.adapters.aws import client as aws_client
from scheduled_comms.adapters.dynamodb.items import (
    held_key_of,
    hold_answered_key,
    idempotency_item_key,
    is_condition_failure,
)
from scheduled_comms.models.domain import HeldKey, IdempotencyClaim


class DynamoIdempotencyStore:
    """``IdempotencyStore`` on DynamoDB: the held key's item, beside those the create route holds."""

    def __init__(self, table_name: str, client: Any | None = None) -> None:
        self._table = table_name
        self._client = client or aws_client("dynamodb")

    def hold(self, company_id: str, claim: IdempotencyClaim, now: datetime) -> HeldKey | None:
        try:
            self._client.put_item(
                **hold_answered_key(self._table, company_id, claim, now), ReturnValuesOnConditionCheckFailure="ALL_OLD"
            )
        except ClientError as exc:
            if not is_condition_failure(exc):
                raise
            held = cast(dict[str, Any], exc.response).get("Item")
            if held is None:  # released between the write and its answer: held by nobody now
                return self.hold(company_id, claim, now)
            return held_key_of(held)
        return None

    def complete(self, company_id: str, claim: IdempotencyClaim, answer: tuple[int, Any]) -> None:
        status, body = answer
        self._client.update_item(
            TableName=self._table,
            Key=idempotency_item_key(company_id, claim.key),
            UpdateExpression="SET answer_status = :status, answer_body = :body",
            ExpressionAttributeValues={":status": {"N": str(status)}, ":body": {"S": json.dumps(body)}},
        )

    def release(self, company_id: str, claim: IdempotencyClaim) -> None:
        self._client.delete_item(TableName=self._table, Key=idempotency_item_key(company_id, claim.key))
