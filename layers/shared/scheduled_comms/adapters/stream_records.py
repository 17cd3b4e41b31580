"""Reads the table's DynamoDB stream records (a row's images before and after a write), in order."""

from __future__ import annotations

import sys
from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType
from aws_lambda_powertools.utilities.batch.base import FailureResponse, SuccessResponse
from scheduled_comms.adapters.dynamodb.items import (
    BODY_SUFFIX,
    CAMPAIGN_PREFIX,
    CONTACT_PREFIX,
    ROW_PREFIX,
    item_to_campaign,
    item_to_contact,
    item_to_row,
)
from scheduled_comms.logic.campaigns.events import CampaignChange, ContactChange
from scheduled_comms.logic.transitions import RowChange


def row_change(record: dict[str, Any]) -> RowChange | None:
    """The row change a stream record carries (raw, as Lambda delivers it), or None for other items.

    Companies, API keys and settings share the table; their records are not row changes.
    """
    images = record.get("dynamodb") or {}
    keys = images.get("Keys") or {}
    sort_key = str(keys.get("sk", {}).get("S", ""))
    if not sort_key.startswith(ROW_PREFIX) or sort_key.endswith(BODY_SUFFIX):
        return None
    old, new = images.get("OldImage"), images.get("NewImage")
    # Events carry no payload: a payload kept in its own item is not read.
    return RowChange(
        old=item_to_row(old, without_payload=True) if old else None,
        new=item_to_row(new, without_payload=True) if new else None,
    )


def campaign_change(record: dict[str, Any]) -> CampaignChange | ContactChange | None:
    """The change of a batch call or of one of its contacts a stream record carries, or None for other items."""
    images = record.get("dynamodb") or {}
    keys = images.get("Keys") or {}
    partition, sort_key = str(keys.get("pk", {}).get("S", "")), str(keys.get("sk", {}).get("S", ""))
    old, new = images.get("OldImage"), images.get("NewImage")
    if partition.startswith("CO#") and sort_key.startswith(CAMPAIGN_PREFIX):
        return CampaignChange(old=item_to_campaign(old) if old else None, new=item_to_campaign(new) if new else None)
    if partition.startswith(CAMPAIGN_PREFIX) and sort_key.startswith(CONTACT_PREFIX):
        company_id, _, batch_call_id = partition.removeprefix(CAMPAIGN_PREFIX).partition("#")
        return ContactChange(
            company_id=company_id,
            batch_call_id=batch_call_id,
            old=item_to_contact(old) if old else None,
            new=item_to_contact(new) if new else None,
        )
    return None


class EarlierRecordFailed(Exception):
    """A record left unprocessed because one before it in the batch failed."""


class InOrderStreamProcessor(BatchProcessor):
    """Powertools' batch processor for DynamoDB streams, stopping at a batch's first failure.

    Lambda delivers a partly failed batch again from its first failed record, so the records after
    that one are reported failed instead of processed: each is published once, on the retry, not twice.
    """

    def __init__(self) -> None:
        super().__init__(event_type=EventType.DynamoDBStreams)
        self._stopped = False

    def _prepare(self) -> None:
        super()._prepare()
        self._stopped = False

    def _process_record(self, record: dict[str, Any]) -> SuccessResponse | FailureResponse:
        if self._stopped:
            try:
                raise EarlierRecordFailed("an earlier record of the batch failed")
            except EarlierRecordFailed:
                return self.failure_handler(
                    record=self._to_batch_type(record, self.event_type), exception=sys.exc_info()
                )
        outcome = super()._process_record(record)
        self._stopped = outcome[0] == "fail"
        return outcome
