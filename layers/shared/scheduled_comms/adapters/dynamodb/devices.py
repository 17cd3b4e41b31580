"""A person's push devices in DynamoDB (``items``: ``DV#`` in the person's partition, ``DVO#`` owner guards)."""

from __future__ import annotations

from contextlib import suppress
from datetime import datetime
from typing import Any

from scheduled_comms.adapters.aws import client as aws_client
from scheduled_comms.adapters.dynamodb.items import (
    DEVICE_PREFIX,
    device_key,
    device_owner_key,
    from_attributes,
    person_pk,
    to_attributes,
)
from scheduled_comms.models.push import Device
from scheduled_comms.models.values import format_instant


def _device_of(item: dict[str, Any]) -> Device:
    values = from_attributes({k: v for k, v in item.items() if k not in ("pk", "sk")})
    return Device.model_validate(values)


class DynamoDeviceStore:
    """``DeviceStore`` over the communications table."""

    def __init__(self, table_name: str, client: Any | None = None) -> None:
        self._table = table_name
        self._client = client or aws_client("dynamodb")

    def device(self, company_id: str, person_id: str, device_id: str) -> Device | None:
        item = self._client.get_item(
            TableName=self._table, Key=device_key(company_id, person_id, device_id), ConsistentRead=True
        ).get("Item")
        return _device_of(item) if item else None

    def devices(self, company_id: str, person_id: str) -> list[Device]:
        request: dict[str, Any] = {
            "TableName": self._table,
            "KeyConditionExpression": "pk = :pk AND begins_with(sk, :prefix)",
            "ExpressionAttributeValues": {
                ":pk": {"S": person_pk(company_id, person_id)},
                ":prefix": {"S": DEVICE_PREFIX},
            },
            "ConsistentRead": True,
        }
        found: list[Device] = []
        while True:
            response = self._client.query(**request)
            found.extend(_device_of(item) for item in response.get("Items", []))
            if "LastEvaluatedKey" not in response:
                return found
            request["ExclusiveStartKey"] = response["LastEvaluatedKey"]

    def owner(self, company_id: str, device_id: str) -> str | None:
        item = self._client.get_item(
            TableName=self._table, Key=device_owner_key(company_id, device_id), ConsistentRead=True
        ).get("Item")
        return item["person_id"]["S"] if item else None

    def save(self, company_id: str, device: Device, previous_owner: str | None) -> bool:
        item = {**device_key(company_id, device.person_id, device.id), **to_attributes(device.model_dump(mode="json"))}
        owner: dict[str, Any] = {
            "TableName": self._table,
            "Item": {**device_owner_key(company_id, device.id), "person_id": {"S": device.person_id}},
        }
        # The guard must still name the owner this registration read: two registrations of one token for two
        # people at once cannot both win, so a device never ends up with two owners.
        if previous_owner is None:
            owner["ConditionExpression"] = "attribute_not_exists(pk)"
        else:
            owner["ConditionExpression"] = "person_id = :previous"
            owner["ExpressionAttributeValues"] = {":previous": {"S": previous_owner}}
        writes: list[dict[str, Any]] = [{"Put": {"TableName": self._table, "Item": item}}, {"Put": owner}]
        if previous_owner is not None and previous_owner != device.person_id:
            writes.append(
                {"Delete": {"TableName": self._table, "Key": device_key(company_id, previous_owner, device.id)}}
            )
        try:
            self._client.transact_write_items(TransactItems=writes)
        except self._client.exceptions.TransactionCanceledException:
            return False
        return True

    def delete(self, company_id: str, person_id: str, device_id: str) -> bool:
        try:
            self._client.transact_write_items(
                TransactItems=[
                    {
                        "Delete": {
                            "TableName": self._table,
                            "Key": device_key(company_id, person_id, device_id),
                            "ConditionExpression": "attribute_exists(pk)",
                        }
                    },
                    {
                        "Delete": {
                            "TableName": self._table,
                            "Key": device_owner_key(company_id, device_id),
                            "ConditionExpression": "person_id = :person",
                            "ExpressionAttributeValues": {":person": {"S": person_id}},
                        }
                    },
                ]
            )
        except self._client.exceptions.TransactionCanceledException:
            return False
        return True

    def mark_disabled(self, company_id: str, person_id: str, device_id: str, now: datetime) -> None:
        with suppress(self._client.exceptions.ConditionalCheckFailedException):  # deleted meanwhile: nothing to mark
            self._client.update_item(
                TableName=self._table,
                Key=device_key(company_id, person_id, device_id),
                UpdateExpression="SET enabled = :false, disabled_at = :now, updated_at = :now",
                ConditionExpression="attribute_exists(pk)",
                ExpressionAttributeValues={":false": {"BOOL": False}, ":now": {"S": format_instant(now)}},
            )
