"""Bulk due rows for load tests and benchmarks, written straight to the table (no API, no credits)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from scheduled_comms.adapters.aws import client as aws_client
from scheduled_comms.adapters.dynamodb.items import row_to_item
from scheduled_comms.models.domain import MAX_ATTEMPTS, Channel, Communication, Delivery, Source, Status
from scheduled_comms.models.values import new_id
from scheduled_comms.settings import get_settings


def _payload(channel: Channel, i: int, number_id: str, voice_config_id: str | None) -> dict[str, Any]:
    if channel is Channel.EMAIL:
        return {"to_email": f"bulk{i}@example.com", "subject": "Bulk", "html_body": "<p>hello</p>"}
    to_number = f"+1415{5550000 + i % 4_440_000:07d}"
    if channel is Channel.SMS:
        return {"phone_number_id": number_id, "to_number": to_number, "message_body": "hello"}
    return {"voice_agent_outbound_config_id": voice_config_id, "to_number": to_number}


def seed_due_rows(
    company_id: str,
    number_id: str,
    count: int,
    now: datetime,
    client: Any = None,
    voice_config_id: str | None = None,
    delivery: Delivery = Delivery.AT_LEAST_ONCE,
    channels: Sequence[Channel] | None = None,
    due: Sequence[datetime] | None = None,
) -> list[str]:
    """``count`` pending rows due within the minute before ``now`` (or at ``due``), each to a recipient of its own.

    Channels alternate SMS and email, or SMS, email and voice when ``voice_config_id`` is given (or ``channels``).
    """
    channels = channels or [Channel.SMS, Channel.EMAIL] + ([Channel.VOICE_CALL] if voice_config_id else [])
    rows = []
    for i in range(count):
        channel = channels[i % len(channels)]
        payload = _payload(channel, i, number_id, voice_config_id)
        rows.append(
            Communication(
                id=new_id(now),
                company_id=company_id,
                channel=channel,
                status=Status.PENDING,
                scheduled_for=due[i] if due else now - timedelta(seconds=i % 60),
                payload=payload,
                max_attempts=MAX_ATTEMPTS[channel],
                source=Source.API,
                delivery=delivery,
                created_at=now,
                updated_at=now,
            )
        )
    client = client or aws_client("dynamodb")
    settings = get_settings()
    for start in range(0, count, 25):
        batch = [{"PutRequest": {"Item": row_to_item(r, settings.due_shard_count)}} for r in rows[start : start + 25]]
        client.batch_write_item(RequestItems={settings.communications_table: batch})
    return [row.id for row in rows]
