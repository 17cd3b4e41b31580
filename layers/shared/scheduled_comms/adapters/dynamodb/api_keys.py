"""API keys on DynamoDB: only the SHA-256 of each key is stored."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from botocore.exceptions import ClientError
from scheduled_comms.adapters.aws import client as aws_client
from scheduled_comms.adapters.dynamodb.items import api_key_key, from_attributes, is_condition_failure, to_attributes
from scheduled_comms.errors import NotFound
from scheduled_comms.models.domain import ApiKeyRecord
from scheduled_comms.models.values import format_instant


class DynamoApiKeyStore:
    """API keys: only the SHA-256 of each key is stored."""

    def __init__(self, table_name: str, client: Any | None = None) -> None:
        self._table = table_name
        self._client = client or aws_client("dynamodb")

    def put(self, record: ApiKeyRecord) -> None:
        values = {k: v for k, v in record.__dict__.items() if v is not None}
        values["scopes"] = list(record.scopes)
        item = {**to_attributes(values), **api_key_key(record.key_id)}
        self._client.put_item(TableName=self._table, Item=item, ConditionExpression="attribute_not_exists(pk)")

    def get(self, key_id: str) -> ApiKeyRecord | None:
        item = self._client.get_item(TableName=self._table, Key=api_key_key(key_id)).get("Item")
        if not item:
            return None
        values = {k: v for k, v in from_attributes(item).items() if k not in ("pk", "sk")}
        values["scopes"] = tuple(values.get("scopes", ()))
        return ApiKeyRecord(**values)

    def set_scopes(self, key_id: str, scopes: tuple[str, ...]) -> None:
        """Replace an existing key's scopes (an administrator's act, e.g. the dev key gaining new ones)."""
        self._client.update_item(
            TableName=self._table,
            Key=api_key_key(key_id),
            UpdateExpression="SET scopes = :scopes",
            ConditionExpression="attribute_exists(pk)",
            ExpressionAttributeValues={":scopes": {"L": [{"S": scope} for scope in scopes]}},
        )

    def revoke(self, key_id: str, now: datetime) -> None:
        try:
            self._client.update_item(
                TableName=self._table,
                Key=api_key_key(key_id),
                UpdateExpression="SET revoked_at = if_not_exists(revoked_at, :now)",
                ConditionExpression="attribute_exists(pk)",
                ExpressionAttributeValues={":now": {"S": format_instant(now)}},
            )
        except ClientError as exc:
            if is_condition_failure(exc):
                raise NotFound("No API key with this id") from exc
            raise
