"""The dispatch queue: the tick's slices, one message each, for the dispatch workers (SQS)."""

from __future__ import annotations

from typing import Any

from scheduled_comms.adapters.aws import client as aws_client
from scheduled_comms.models.dispatch import DispatchSlice
from scheduled_comms.observability import logger

_BATCH = 10  # SendMessageBatch's limit


class SqsWorkQueue:
    """``WorkQueue`` over SQS: slices sent ten to a request."""

    def __init__(self, queue_url: str, client: Any | None = None) -> None:
        self._url = queue_url
        self._client = client

    @property
    def client(self) -> Any:
        if self._client is None:
            self._client = aws_client("sqs")
        return self._client

    def hand_out(self, slices: list[DispatchSlice]) -> int:
        refused = 0
        for start in range(0, len(slices), _BATCH):
            entries = [
                {"Id": str(n), "MessageBody": work.model_dump_json()}
                for n, work in enumerate(slices[start : start + _BATCH])
            ]
            try:
                failed = self.client.send_message_batch(QueueUrl=self._url, Entries=entries).get("Failed", [])
            except Exception as exc:  # its rows stay due: the next tick hands them out again
                logger.warning("slices not queued", extra={"slices": len(entries), "error_type": type(exc).__name__})
                refused += len(entries)
                continue
            if failed:
                logger.warning("slices refused by the queue", extra={"codes": [f.get("Code") for f in failed]})
            refused += len(failed)
        return refused
