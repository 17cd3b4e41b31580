"""Many items at once: BatchWriteItem, 25 a request, and BatchGetItem, 100 a request, each again for what
DynamoDB leaves unprocessed."""

from __future__ import annotations

import random
import time
from collections.abc import Sequence
from typing import Any

BATCH_WRITE_LIMIT = 25  # requests per BatchWriteItem
BATCH_GET_LIMIT = 100  # keys per BatchGetItem


def batch_write(client: Any, table: str, requests: Sequence[dict[str, Any]]) -> int:
    """Apply ``requests`` (``{"PutRequest": ...}`` or ``{"DeleteRequest": ...}``); returns the calls made.

    What DynamoDB leaves unprocessed (throttled partitions) is sent again after a jittered, growing pause.
    """
    calls = 0
    for start in range(0, len(requests), BATCH_WRITE_LIMIT):
        pending: dict[str, Any] = {table: list(requests[start : start + BATCH_WRITE_LIMIT])}
        delay = 0.05
        while pending:
            calls += 1
            pending = client.batch_write_item(RequestItems=pending).get("UnprocessedItems") or {}
            if pending:
                time.sleep(random.uniform(0, delay))
                delay = min(delay * 2, 2.0)
    return calls


def batch_get(
    client: Any, table: str, keys: Sequence[dict[str, Any]], consistent: bool = False
) -> list[dict[str, Any]]:
    """The items of ``keys`` that exist, in no particular order."""
    found: list[dict[str, Any]] = []
    for start in range(0, len(keys), BATCH_GET_LIMIT):
        chunk = list(keys[start : start + BATCH_GET_LIMIT])
        pending: dict[str, Any] = {table: {"Keys": chunk, "ConsistentRead": consistent}}
        while pending:
            response = client.batch_get_item(RequestItems=pending)
            found += response.get("Responses", {}).get(table, [])
            pending = response.get("UnprocessedKeys") or {}
    return found
