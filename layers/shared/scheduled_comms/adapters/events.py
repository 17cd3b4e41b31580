"""Publishes row transitions to the stack's EventBridge bus, for other services' timelines."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from scheduled_comms.adapters.aws import client as aws_client
from scheduled_comms.models.domain import Communication
from scheduled_comms.models.values import format_instant
from scheduled_comms.observability import logger, mask_personal_data

SOURCE = "scheduled-comms"


def transition_event(row: Communication) -> dict[str, Any]:
    """The event for a row's current status: ids and links, never the payload's personal data."""
    return {
        "Source": SOURCE,
        "DetailType": f"ScheduledCommunication.{row.status.value.capitalize()}",
        "Detail": json.dumps(
            {
                "id": row.id,
                "company_id": row.company_id,
                "channel": row.channel.value,
                "status": row.status.value,
                "contact_id": row.contact_id,
                "deal_id": row.deal_id,
                "customer_id": row.customer_id,
                "related_entity_type": row.related_entity_type,
                "related_entity_id": row.related_entity_id,
                "attempt_count": row.attempt_count,
                "dispatched_external_id": row.dispatched_external_id,
                "last_error": mask_personal_data(row.last_error) if row.last_error else None,
                "skip_reason": row.skip_reason,
                "cadence_id": row.cadence_id,
                "cadence_attempt": row.cadence_attempt,
                "at": format_instant(row.updated_at),
            }
        ),
        "Resources": [],
    }


class EventBridgePublisher:
    def __init__(self, bus_name: str, client: Any | None = None) -> None:
        self._bus = bus_name
        self._client = client or aws_client("events")

    def publish(self, rows: Iterable[Communication]) -> int:
        """Publish, ten at a time; returns how many entries EventBridge refused (logged, not raised)."""
        return self._put([{**transition_event(row), "EventBusName": self._bus} for row in rows])

    def publish_details(self, events: Iterable[tuple[str, dict[str, Any]]]) -> int:
        entries = [
            {
                "Source": SOURCE,
                "DetailType": kind,
                "Detail": json.dumps(detail),
                "Resources": [],
                "EventBusName": self._bus,
            }
            for kind, detail in events
        ]
        return self._put(entries)

    def _put(self, entries: list[dict[str, Any]]) -> int:
        refused = 0
        for start in range(0, len(entries), 10):
            batch = entries[start : start + 10]
            for _ in range(2):
                response = self._client.put_events(Entries=batch)
                if not response.get("FailedEntryCount"):
                    break
                batch = [e for e, r in zip(batch, response["Entries"], strict=True) if r.get("ErrorCode")]
            else:
                refused += len(batch)
                logger.error("events not published", extra={"count": len(batch)})
        return refused
