"""The do-not-contact list in DynamoDB.

Item: ``pk=DNC#<company>``  ``sk=<address>#<channel>``: reason, source, created_at, ``until`` (the entry's
lapse, ISO) and ``expires_at`` (the same instant in epoch seconds, for the table's TTL, which removes a lapsed
entry within a day or two; reads ignore a lapsed entry before then). Every channel of one address sorts
together, so the check at send is one query (``begins_with(sk, "<address>#")``; no address contains ``#``
after its last ``@`` or in an E.164 number, so the prefix names one address). A company's entries are one
partition: a list reads it in address order, and the checks of a burst of sends stay far below a partition's
3,000 read units a second (an eventually consistent query of one small item costs half a unit).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from botocore.exceptions import ClientError
from scheduled_comms.adapters.aws import client as aws_client
from scheduled_comms.adapters.dynamodb.batch import batch_write
from scheduled_comms.adapters.dynamodb.items import from_attributes, is_condition_failure
from scheduled_comms.models.protection import DoNotContactEntry, SuppressedChannel
from scheduled_comms.models.values import format_instant


def _partition(company_id: str) -> dict[str, str]:
    return {"S": f"DNC#{company_id}"}


def _key(company_id: str, channel: SuppressedChannel, address: str) -> dict[str, Any]:
    return {"pk": _partition(company_id), "sk": {"S": f"{address}#{channel.value}"}}


def _item(company_id: str, entry: DoNotContactEntry) -> dict[str, Any]:
    item: dict[str, Any] = {
        **_key(company_id, entry.channel, entry.address),
        "source": {"S": entry.source},
        "created_at": {"S": format_instant(entry.created_at)},
    }
    if entry.reason is not None:
        item["reason"] = {"S": entry.reason}
    if entry.expires_at is not None:
        item["until"] = {"S": format_instant(entry.expires_at)}
        item["expires_at"] = {"N": str(int(entry.expires_at.timestamp()) + 1)}
    return item


def _entry(item: dict[str, Any]) -> DoNotContactEntry:
    values = from_attributes(item)
    address, _, channel = values["sk"].rpartition("#")
    return DoNotContactEntry(
        channel=SuppressedChannel(channel),
        address=address,
        reason=values.get("reason"),
        source=values["source"],
        expires_at=values.get("until"),
        created_at=values["created_at"],
    )


class DynamoDoNotContactList:
    def __init__(self, table_name: str, client: Any | None = None) -> None:
        self._table = table_name
        self._client = client or aws_client("dynamodb")

    def put(self, company_id: str, entries: Iterable[DoNotContactEntry]) -> None:
        """Write ``entries``, replacing any of the same address and channel."""
        batch_write(self._client, self._table, [{"PutRequest": {"Item": _item(company_id, e)}} for e in entries])

    def delete(self, company_id: str, channel: SuppressedChannel, address: str) -> DoNotContactEntry | None:
        """Remove one entry; the entry removed, or None when there was none."""
        answer = self._client.delete_item(
            TableName=self._table, Key=_key(company_id, channel, address), ReturnValues="ALL_OLD"
        )
        old = answer.get("Attributes")
        return _entry(old) if old else None

    def page(self, company_id: str, limit: int, after: str | None) -> tuple[list[DoNotContactEntry], str | None]:
        """Up to ``limit`` entries in address order after the sort key ``after``; and the last one's sort key
        when more may follow."""
        request: dict[str, Any] = {
            "TableName": self._table,
            "KeyConditionExpression": "pk = :pk",
            "ExpressionAttributeValues": {":pk": _partition(company_id)},
            "Limit": limit,
        }
        if after is not None:
            request["ExclusiveStartKey"] = {"pk": _partition(company_id), "sk": {"S": after}}
        answer = self._client.query(**request)
        last = answer.get("LastEvaluatedKey")
        return [_entry(item) for item in answer.get("Items", [])], last["sk"]["S"] if last else None

    def matching(self, company_id: str, address: str, now: datetime) -> list[DoNotContactEntry]:
        """The entries of ``address`` in force at ``now``, whatever their channel: one query."""
        answer = self._client.query(
            TableName=self._table,
            KeyConditionExpression="pk = :pk AND begins_with(sk, :address)",
            ExpressionAttributeValues={":pk": _partition(company_id), ":address": {"S": f"{address}#"}},
        )
        entries = [_entry(item) for item in answer.get("Items", [])]
        return [entry for entry in entries if entry.expires_at is None or entry.expires_at > now]


CONTENDED_WAIT_SECONDS = 2.0


class DynamoSendCounters:
    """Sends to one address on one channel in a rolling window, exactly, under any number of workers.

    Item: ``pk=CAP#<company>#<channel>#<address>``  ``sk=#CAP``: ``sends`` (the epoch seconds of the sends still
    inside the longest window the cap has had), ``version`` and ``expires_at`` (TTL: when the last send leaves the
    window). A slot is taken by a write conditioned on the version read (optimistic concurrency): two workers
    that read the same version cannot both write, the loser reads again. One read and one write a capped send.
    """

    RETRIES = 8

    def __init__(self, table_name: str, client: Any | None = None) -> None:
        self._table = table_name
        self._client = client or aws_client("dynamodb")

    def take(
        self, company_id: str, channel: str, address: str, limit: int, window_seconds: int, now: datetime
    ) -> float | None:
        """Take a slot at ``now``: None when taken, else the epoch second a slot frees (nothing written)."""
        key = {"pk": {"S": f"CAP#{company_id}#{channel}#{address}"}, "sk": {"S": "#CAP"}}
        moment = now.timestamp()
        for _ in range(self.RETRIES):
            item = self._client.get_item(TableName=self._table, Key=key, ConsistentRead=True).get("Item") or {}
            version = int(item["version"]["N"]) if "version" in item else 0
            sends = sorted(float(n["N"]) for n in item.get("sends", {}).get("L", []))
            inside = [sent for sent in sends if sent > moment - window_seconds]
            if len(inside) >= limit:
                return inside[len(inside) - limit] + window_seconds
            kept = [*inside, moment]
            request: dict[str, Any] = {
                "TableName": self._table,
                "Key": key,
                "UpdateExpression": "SET sends = :sends, version = :next, expires_at = :expires",
                "ExpressionAttributeValues": {
                    ":sends": {"L": [{"N": repr(sent)} for sent in kept]},
                    ":next": {"N": str(version + 1)},
                    ":expires": {"N": str(int(moment + window_seconds) + 1)},
                },
            }
            if version:
                request["ConditionExpression"] = "version = :version"
                request["ExpressionAttributeValues"][":version"] = {"N": str(version)}
            else:
                request["ConditionExpression"] = "attribute_not_exists(pk)"
            try:
                self._client.update_item(**request)
                return None
            except ClientError as exc:
                if not is_condition_failure(exc):
                    raise
        return moment + CONTENDED_WAIT_SECONDS  # every try lost to another worker: look again shortly
