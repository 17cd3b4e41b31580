"""Scheduled communications on DynamoDB: create (spending a credit), read, list with filters, change while pending."""

from __future__ import annotations

import heapq
import random
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import datetime, timedelta
from typing import Any, cast

from botocore.exceptions import ClientError
from scheduled_comms.adapters.aws import client as aws_client
from scheduled_comms.adapters.dynamodb.batch import batch_get
from scheduled_comms.adapters.dynamodb.credits import DynamoCreditLedger
from scheduled_comms.adapters.dynamodb.items import (
    BODY_ATTRIBUTE,
    BODY_SUFFIX,
    FILTER_FIELDS,
    FILTER_INDEXES,
    RECIPIENT_INDEX,
    ROW_PREFIX,
    LinkIndex,
    body_item,
    body_key,
    cancellation_key_item,
    cancellation_key_prefix,
    company_key,
    credits_of,
    debit_credit,
    diff_update,
    from_attributes,
    get_row,
    hold_idempotency_key,
    idempotency_item_key,
    is_body,
    is_condition_failure,
    item_to_row,
    refund_credit,
    row_id_of,
    row_key,
    row_partitions,
    row_to_item,
    row_with_body,
    spend_credit,
    spent_by,
    with_payload_of,
)
from scheduled_comms.errors import Conflict, IdempotencyKeyReused, InsufficientCredits, NotFound, NotPending
from scheduled_comms.models.domain import (
    TERMINAL,
    Communication,
    Created,
    IdempotencyClaim,
    ListFilters,
    Match,
    Page,
    Replayed,
    Status,
)


def _index_query(index: LinkIndex, key: str, after_id: str | None, limit: int) -> dict[str, Any]:
    """A query of a keys-only link index for ``key``: its rows older than ``after_id`` (sort keys are uuid7)."""
    request: dict[str, Any] = {
        "IndexName": index.name,
        "KeyConditionExpression": "#k = :k" + (" AND sk < :after" if after_id else ""),
        "ExpressionAttributeNames": {"#k": index.attribute},
        "ExpressionAttributeValues": {":k": {"S": key}},
        "Limit": limit,
    }
    if after_id:
        request["ExpressionAttributeValues"][":after"] = {"S": f"{ROW_PREFIX}{after_id}"}
    return request


_CONFLICT_RETRIES = 4
MAX_QUERY_PAGES_PER_LIST = 5
FILTERED_PAGE_SIZE = 100  # items a filtered list reads per query page


# Requests made beside a create's other writes (the credit, the payload item, the balance read), so that they
# add no round trip to its answer.
_BESIDE = ThreadPoolExecutor(max_workers=16, thread_name_prefix="beside")
# A row due at least this far ahead is written beside its credit's spend: a refused spend or a failed write is
# undone well before any tick may claim the row (the API's functions time out after 10 s).
UNDO_WINDOW = timedelta(seconds=60)


def _failure(future: Future[Any] | None) -> BaseException | None:
    """What ``future`` raised (None when it succeeded, or when there is none), once it is done."""
    return None if future is None else future.exception()


class _OutOfReads(Exception):
    """A list has read as many pages as one request may."""


class _ReadBudget:
    def __init__(self, pages: int) -> None:
        self._left = pages

    def spend(self) -> None:
        if self._left <= 0:
            raise _OutOfReads
        self._left -= 1


class DynamoCommunicationStore:
    """``CommunicationStore`` on DynamoDB."""

    def __init__(self, table_name: str, shard_count: int, client: Any | None = None) -> None:
        self._table = table_name
        self._shards = shard_count
        self._client = client or aws_client("dynamodb")

    def create(self, row: Communication, claim: IdempotencyClaim | None = None) -> Created | Replayed:
        """Store ``row`` and spend its credit, in one round trip when the row is not due within ``UNDO_WINDOW``.

        Without an Idempotency-Key the credit is spent by a conditional update of the balance, beside (not in a
        transaction with) the row's put and its payload item's put: a transaction bills each item twice. A
        refused spend removes the row written beside it (no tick can have claimed it: it is not due yet) and
        answers ``InsufficientCredits``; a write that failed gives the credit back. A row due sooner is
        written after its credit is spent and its payload stored, so that no tick finds it half-made.

        With a key, one transaction spends the credit, puts the row and holds the key (see ``_create``).
        """
        key_item = cancellation_key_item(row)
        if key_item is not None:  # first: a key item naming no row is harmless, a row its key misses is not
            self._client.put_item(TableName=self._table, Item=key_item)
        body = body_item(row)
        beside = row.scheduled_for - row.created_at >= UNDO_WINDOW
        if claim is None:
            return self._create_paying_beside(row, body) if beside else self._create_paying_first(row, body)
        items: list[dict[str, Any]] = [
            {"Update": spend_credit(self._table, row.company_id, row.created_at, row.id)},
            {"Put": self._row_put(row)},
            {"Put": hold_idempotency_key(self._table, row, claim)},
        ]
        if body is None:
            return self._create(row, items, claim)
        # The payload item is written once, outside the transaction (which bills its items twice): before the
        # row that names it when the row is due soon, else beside the transaction.
        body_put = None
        if beside:
            body_put = _BESIDE.submit(self._client.put_item, TableName=self._table, Item=body)
        else:
            self._client.put_item(TableName=self._table, Item=body)
        try:
            outcome = self._create(row, items, claim)
        except (InsufficientCredits, IdempotencyKeyReused, Conflict):
            _failure(body_put)
            self._forget_body(row, body)
            raise
        body_failure = _failure(body_put)
        if isinstance(outcome, Replayed):  # the key's first request created the row: this one wrote no row
            self._forget_body(row, body)
        elif body_failure is not None:  # a row without its payload must not stay: undo the whole create
            self._undo_create(row, body, refund=True)
            self._client.delete_item(TableName=self._table, Key=idempotency_item_key(row.company_id, claim.key))
            raise body_failure
        return outcome

    def _row_put(self, row: Communication) -> dict[str, Any]:
        return {
            "TableName": self._table,
            "Item": row_to_item(row, self._shards),
            "ConditionExpression": "attribute_not_exists(pk)",
        }

    def _create_paying_beside(self, row: Communication, body: dict[str, Any] | None) -> Created:
        spend = _BESIDE.submit(self._spend, row)
        body_put = None if body is None else _BESIDE.submit(self._client.put_item, TableName=self._table, Item=body)
        try:
            # No condition: the id is new, and a resend of this put (its answer lost) writes the same item again
            # before any tick may touch the row (it is not due yet).
            self._client.put_item(TableName=self._table, Item=row_to_item(row, self._shards))
            write_failure = _failure(body_put)
        except Exception as exc:
            _failure(body_put)
            write_failure = exc
        try:
            credits = spend.result()
        except InsufficientCredits:
            self._undo_create(row, body, refund=False)
            raise
        except Exception:  # spent or not, as far as this request knows: the balance's last spender tells
            self._undo_create(row, body, refund=self._spent_for(row))
            raise
        if write_failure is not None:
            self._undo_create(row, body, refund=True)
            raise write_failure
        return Created(credits_remaining=credits)

    def _create_paying_first(self, row: Communication, body: dict[str, Any] | None) -> Created:
        credits = self._spend(row)
        try:
            if body is not None:
                self._client.put_item(TableName=self._table, Item=body)
            self._put_row(row)
        except Exception:
            self._undo_create(row, body, refund=True)
            raise
        return Created(credits_remaining=credits)

    def _spend(self, row: Communication) -> int:
        """Spend one credit for ``row``; the balance after it. ``InsufficientCredits`` when none is left."""
        try:
            response = self._client.update_item(**debit_credit(self._table, row.company_id, row.id))
        except ClientError as exc:
            if not is_condition_failure(exc):
                raise
            company = cast(dict[str, Any] | None, exc.response.get("Item"))
            if spent_by(company) == row.id:  # a resend of the spend that landed
                return credits_of(company)
            raise InsufficientCredits("No credits left: scheduling a communication costs one credit") from exc
        return credits_of(response.get("Attributes"))

    def _spent_for(self, row: Communication) -> bool:
        company = self._client.get_item(
            TableName=self._table, Key=company_key(row.company_id), ConsistentRead=True
        ).get("Item")
        return spent_by(company) == row.id

    def _put_row(self, row: Communication) -> None:
        try:
            self._client.put_item(**self._row_put(row))
        except ClientError as exc:
            # botocore's resend of a put that landed (its answer lost): the row is there, as written.
            if not (is_condition_failure(exc) and self._is_stored(row)):
                raise

    def _undo_create(self, row: Communication, body: dict[str, Any] | None, refund: bool) -> None:
        """Remove what a create wrote of ``row`` (not yet due: no tick has it), and give its credit back."""
        self._client.delete_item(TableName=self._table, Key=row_key(row.company_id, row.id))
        self._forget_body(row, body)
        if refund:
            self._client.update_item(**refund_credit(self._table, row.company_id, row.created_at))

    def _forget_body(self, row: Communication, body: dict[str, Any] | None) -> None:
        """Remove the payload item written for a row that was not created."""
        if body is not None:
            self._client.delete_item(TableName=self._table, Key=body_key(row.company_id, row.id))

    def _create(
        self, row: Communication, items: list[dict[str, Any]], claim: IdempotencyClaim | None
    ) -> Created | Replayed:
        balance = _BESIDE.submit(self._balance_seen, row.company_id)
        for attempt in range(_CONFLICT_RETRIES):
            try:
                # The token makes a resend (botocore's retry after a lost answer, or ours) apply at most once.
                self._client.transact_write_items(TransactItems=items, ClientRequestToken=row.id)
                break
            except ClientError as exc:
                if exc.response.get("Error", {}).get("Code") != "TransactionCanceledException":
                    raise
                reasons = [r.get("Code") for r in exc.response.get("CancellationReasons") or []]
                if claim is not None and reasons[2:3] == ["ConditionalCheckFailed"]:
                    return self._replay(row.company_id, claim)
                if reasons[1:2] == ["ConditionalCheckFailed"] and self._is_stored(row):
                    break  # an earlier attempt of this very request landed: its row and its credit stand
                if reasons[:1] == ["ConditionalCheckFailed"]:
                    raise InsufficientCredits("No credits left: scheduling a communication costs one credit") from exc
                if "TransactionConflict" not in reasons:
                    raise
                if attempt == _CONFLICT_RETRIES - 1:
                    raise Conflict("Too many concurrent requests for this company; retry shortly") from exc
                # Another create touched the company's credit item (or this key) at the same moment: try again.
                time.sleep(random.uniform(0.01, 0.05) * (attempt + 1))
        credits, last_spent_by = balance.result()
        return Created(credits_remaining=credits if last_spent_by == row.id else max(0, credits - 1))

    def _balance_seen(self, company_id: str) -> tuple[int, str | None]:
        """The company's credits and which row spent last, as an eventually consistent read sees them."""
        item = self._client.get_item(
            TableName=self._table, Key=company_key(company_id), ProjectionExpression="credits, last_spent_by"
        ).get("Item", {})
        return int(item.get("credits", {}).get("N", "0")), item.get("last_spent_by", {}).get("S")

    def _replay(self, company_id: str, claim: IdempotencyClaim) -> Replayed:
        held = self._client.get_item(
            TableName=self._table, Key=idempotency_item_key(company_id, claim.key), ConsistentRead=True
        ).get("Item")
        if held is None:  # expired and removed since the write was refused: the client may retry
            raise Conflict("This Idempotency-Key was released while the request ran; retry it")
        if held["request_sha256"]["S"] != claim.fingerprint:
            raise IdempotencyKeyReused("This Idempotency-Key was already used with a different request body")
        row = self.get(company_id, held["row_id"]["S"], consistent=True)
        if row is None:
            raise Conflict("The row this Idempotency-Key created is no longer stored")
        return Replayed(row=row, credits_remaining=DynamoCreditLedger(self._table, self._client).balance(company_id))

    def get(self, company_id: str, row_id: str, consistent: bool = False) -> Communication | None:
        return get_row(self._client, self._table, company_id, row_id, consistent)

    def _is_stored(self, row: Communication) -> bool:
        """Whether ``row`` itself is in the table (its id is random: another row cannot hold it)."""
        item = self._client.get_item(
            TableName=self._table, Key=row_key(row.company_id, row.id), ConsistentRead=True
        ).get("Item")
        return item is not None and item_to_row(item, without_payload=True).created_at == row.created_at

    def list(self, company_id: str, filters: ListFilters, limit: int, after_id: str | None) -> Page:
        """Newest first, with a bounded number of reads: a page may end early, with a cursor, when a filter
        matched little of what was read (the next page goes on from where reading stopped)."""
        wanted = limit + 1  # one more than asked tells whether another page exists
        index = next((ix for ix in FILTER_INDEXES if ix.value(company_id, filters) is not None), None)
        residual = {
            field: str(getattr(filters, field))
            for field in FILTER_FIELDS
            if getattr(filters, field) is not None and (index is None or field not in index.fields)
        }
        page_size = max(wanted, FILTERED_PAGE_SIZE) if residual else wanted
        budget = _ReadBudget(MAX_QUERY_PAGES_PER_LIST - 1)
        if index is None:
            # A company's rows are spread over several partitions: merge them, newest first.
            sources = [
                self._pages({**self._partition_query(pk, after_id), "Limit": page_size}, budget, keys_only=False)
                for pk in row_partitions(company_id)
            ]
        else:
            request = _index_query(index, str(index.value(company_id, filters)), after_id, page_size)
            sources = [self._pages(request, budget, keys_only=True)]
        found: list[Communication] = []
        last_read: str | None = None
        try:
            for item in heapq.merge(*sources, key=lambda item: item["sk"]["S"], reverse=True):
                last_read = row_id_of(item)
                if all(item.get(field, {}).get("S") == value for field, value in residual.items()):
                    found.append(item_to_row(item, without_payload=True))
                    if len(found) == wanted:
                        return Page(items=found[:limit], next_after_id=found[limit - 1].id)
        except _OutOfReads:
            # Everything newer than the last item read has been read, in every partition.
            return Page(items=found, next_after_id=last_read)
        return Page(items=found, next_after_id=None)

    @staticmethod
    def _partition_query(pk: str, after_id: str | None) -> dict[str, Any]:
        if after_id is None:
            return {
                "KeyConditionExpression": "pk = :pk AND begins_with(sk, :prefix)",
                "ExpressionAttributeValues": {":pk": {"S": pk}, ":prefix": {"S": ROW_PREFIX}},
            }
        return {
            "KeyConditionExpression": "pk = :pk AND sk BETWEEN :prefix AND :after",
            "ExpressionAttributeValues": {
                ":pk": {"S": pk},
                ":prefix": {"S": ROW_PREFIX},
                # BETWEEN includes its bounds: the cursor's own row is dropped by the pages below.
                ":after": {"S": f"{ROW_PREFIX}{after_id}"},
            },
        }

    def _pages(self, request: dict[str, Any], budget: _ReadBudget, keys_only: bool) -> Iterator[dict[str, Any]]:
        """The rows one query reaches, newest first, a page at a time; the first page is free of ``budget``."""
        request = {**request, "TableName": self._table, "ScanIndexForward": False}
        bound = request["ExpressionAttributeValues"].get(":after")
        body: dict[str, Any] | None = None
        first = True
        while True:
            if not first:
                budget.spend()
            first = False
            response = self._client.query(**request)
            items = response.get("Items", [])
            # An index holds keys only: read the rows themselves.
            for item in self._rows_by_key(items) if keys_only else items:
                if is_body(item):  # it comes just before its row (sort keys descending)
                    body = item
                    continue
                if item["sk"] != bound:
                    yield with_payload_of(item, body)
                body = None
            if "LastEvaluatedKey" not in response:
                return
            request["ExclusiveStartKey"] = response["LastEvaluatedKey"]

    def _rows_by_key(self, entries: Sequence[dict[str, Any]]) -> Sequence[dict[str, Any]]:
        """The rows an index's entries point to, in the entries' order (a row gone since is left out)."""
        keys = [{"pk": entry["pk"], "sk": entry["sk"]} for entry in entries]
        found = {(item["pk"]["S"], item["sk"]["S"]): item for item in batch_get(self._client, self._table, keys)}
        rows = [found[k] for k in ((key["pk"]["S"], key["sk"]["S"]) for key in keys) if k in found]
        apart = [row for row in rows if BODY_ATTRIBUTE in row]
        if not apart:
            return rows
        bodies = {
            body["sk"]["S"]: body
            for body in self._rows_by_key([{"pk": r["pk"], "sk": {"S": r["sk"]["S"] + BODY_SUFFIX}} for r in apart])
        }
        return [with_payload_of(row, bodies.get(row["sk"]["S"] + BODY_SUFFIX)) for row in rows]

    def matching(self, company_id: str, match: Match, limit: int, after_id: str | None) -> Page:
        """Up to ``limit`` rows ``match`` names, through an index (a cancellation key: its items in the company's
        row partitions), never a scan; ``next_after_id`` goes on from there (None: nothing more)."""
        if match.field == "cancellation_key":
            prefix = cancellation_key_prefix(match.value)
            low = prefix + (after_id or "")
            ids: list[str] = []
            more = False
            for pk in row_partitions(company_id):
                answer = self._client.query(
                    TableName=self._table,
                    KeyConditionExpression="pk = :pk AND sk BETWEEN :low AND :high",
                    ExpressionAttributeValues={":pk": {"S": pk}, ":low": {"S": low}, ":high": {"S": prefix + "~"}},
                    Limit=limit + 1,
                )
                found = [item["sk"]["S"].removeprefix(prefix) for item in answer.get("Items", [])]
                found = [row_id for row_id in found if row_id != after_id]
                more = more or len(found) > limit or "LastEvaluatedKey" in answer
                ids += found
            ids.sort()  # uuid7: oldest first, across the partitions
            if len(ids) > limit:
                ids, more = ids[:limit], True
            keys = [row_key(company_id, row_id) for row_id in ids]
        else:
            index = (
                RECIPIENT_INDEX
                if match.field == "recipient"
                else next(ix for ix in FILTER_INDEXES if ix.fields == (match.field,))
            )
            request = _index_query(index, f"{company_id}#{match.value}", after_id, limit)
            answer = self._client.query(**request, TableName=self._table, ScanIndexForward=False)
            keys = [{"pk": item["pk"], "sk": item["sk"]} for item in answer.get("Items", [])]
            more = "LastEvaluatedKey" in answer
        rows = [item_to_row(item) for item in self._rows_by_key(keys)]
        last = keys[-1]["sk"]["S"].removeprefix(ROW_PREFIX) if keys else None
        return Page(items=rows, next_after_id=last if more else None)

    def update_pending(self, row: Communication, changes: dict[str, Any], now: datetime) -> Communication:
        updated = row.model_copy(update={**changes, "updated_at": now})
        return self._write_if_pending(row, updated)

    def cancel_pending(self, row: Communication, now: datetime) -> Communication:
        updated = row.model_copy(update={"status": Status.CANCELLED, "cancelled_at": now, "updated_at": now})
        return self._write_if_pending(row, updated)

    def replace_terminal_payload(self, row: Communication, payload: dict[str, Any]) -> bool:
        updated = row.model_copy(update={"payload": payload})
        old_body, body = body_item(row), body_item(updated)
        if body is not None:
            self._client.put_item(TableName=self._table, Item=body)
        request = diff_update(self._table, row, updated, self._shards)
        if not request["UpdateExpression"]:  # the payload item alone changed
            return True
        request["ConditionExpression"] = (
            "attribute_exists(pk) AND #status IN (" + ", ".join(f":terminal{n}" for n in range(len(TERMINAL))) + ")"
        )
        request["ExpressionAttributeNames"]["#status"] = "status"
        for n, status in enumerate(sorted(TERMINAL)):
            request["ExpressionAttributeValues"][f":terminal{n}"] = {"S": status.value}
        try:
            self._client.update_item(**request)
        except ClientError as exc:
            if is_condition_failure(exc):
                return False
            raise
        if old_body is not None and body is None:  # the payload moved back into the row: its old item goes
            self._client.delete_item(TableName=self._table, Key={"pk": old_body["pk"], "sk": old_body["sk"]})
        return True

    def _write_if_pending(self, current: Communication, updated: Communication) -> Communication:
        """Replace the row's changed attributes, on condition that it is still pending (a payload item first,
        when the payload or the time it is kept for changed)."""
        body = body_item(updated)
        if body is not None and (updated.payload, updated.intended_time) != (current.payload, current.intended_time):
            self._client.put_item(TableName=self._table, Item=body)
        request = diff_update(self._table, current, updated, self._shards)
        request["ConditionExpression"] = "attribute_exists(pk) AND #status = :expected"
        request["ExpressionAttributeNames"]["#status"] = "status"
        request["ExpressionAttributeValues"][":expected"] = {"S": Status.PENDING.value}
        try:
            response = self._client.update_item(
                **request, ReturnValues="ALL_NEW", ReturnValuesOnConditionCheckFailure="ALL_OLD"
            )
        except ClientError as exc:
            if not is_condition_failure(exc):
                raise
            old_item = cast(dict[str, Any], exc.response).get("Item")
            if old_item:
                status = from_attributes(old_item).get("status")
                raise NotPending(f"Only pending rows can be changed; this one is {status}") from exc
            raise NotFound("No scheduled communication with this id") from exc
        return row_with_body(response["Attributes"], body)
