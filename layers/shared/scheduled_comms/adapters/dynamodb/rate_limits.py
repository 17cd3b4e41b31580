"""Send quotas shared by every worker, as schedules of send slots in the table (``items.rate_key``).

A quota's item holds when its next free slot begins. A worker reserves a few slots at once by moving
that instant on with an unconditional ``ADD`` (one write, whatever the contention), and restarts an
idle schedule at the present with a conditional ``SET`` (its condition keeps two workers from both
restarting it). A batch of slots costs one write unit, so a send costs a fraction of one.
"""

from __future__ import annotations

import threading
from typing import Any

from botocore.exceptions import ClientError
from scheduled_comms.adapters.aws import client as aws_client
from scheduled_comms.adapters.dynamodb.items import is_condition_failure, next_slot_of, restart_slots, take_slots
from scheduled_comms.models.dispatch import RateScope


class DynamoRateBuckets:
    """``RateBuckets`` in DynamoDB."""

    def __init__(self, table_name: str, client: Any | None = None) -> None:
        self._table = table_name
        self._client = client
        # Each schedule's end as this process last saw it: one in the past means the schedule may be idle.
        self._seen: dict[RateScope, float] = {}
        self._lock = threading.Lock()

    @property
    def client(self) -> Any:
        if self._client is None:
            self._client = aws_client("dynamodb")
        return self._client

    def reserve(self, scope: RateScope, rate: float, count: int, now: float) -> float:
        span = count / rate
        with self._lock:
            seen = self._seen.get(scope)
        if seen is None or seen <= now:
            try:
                self.client.update_item(**restart_slots(self._table, scope, span, now))
            except ClientError as exc:
                if not is_condition_failure(exc):
                    raise
            else:
                self._remember(scope, now + span)
                return now
        response = self.client.update_item(**take_slots(self._table, scope, span, now))
        end = next_slot_of(response["Attributes"])
        self._remember(scope, end)
        return end - span

    def _remember(self, scope: RateScope, end: float) -> None:
        with self._lock:
            self._seen[scope] = max(end, self._seen.get(scope, end))
