"""Company credit balances (``credits`` on the company item)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from scheduled_comms.adapters.aws import client as aws_client
from scheduled_comms.adapters.dynamodb.items import company_key, from_attributes, to_attributes
from scheduled_comms.models.values import format_instant


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
