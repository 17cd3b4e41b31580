"""Reads the table's DynamoDB stream records: a row's images before and after a write."""

from __future__ import annotations

from typing import Any

from scheduled_comms.adapters.dynamodb import ROW_PREFIX, item_to_row
from scheduled_comms.logic.transitions import RowChange


def row_change(record: dict[str, Any]) -> RowChange | None:
    """The row change a stream record carries (raw, as Lambda delivers it), or None for other items.

    Companies, API keys and settings share the table; their records are not row changes.
    """
    images = record.get("dynamodb") or {}
    keys = images.get("Keys") or {}
    if not str(keys.get("sk", {}).get("S", "")).startswith(ROW_PREFIX):
        return None
    old, new = images.get("OldImage"), images.get("NewImage")
    return RowChange(old=item_to_row(old) if old else None, new=item_to_row(new) if new else None)
