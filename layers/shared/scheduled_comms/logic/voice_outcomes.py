"""Call-outcome webhooks: verify the provider's signature, record the outcome, stop the cadence."""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

from scheduled_comms.errors import Conflict, NotFound, Unauthorized
from scheduled_comms.logic.dispatch import was_conversation
from scheduled_comms.models.domain import Channel, Status
from scheduled_comms.models.values import Uuid, format_instant
from scheduled_comms.ports import ConfigSource, CredentialSource, OutcomeStore

SIGNATURE_HEADER = "X-Signature"


class CallMetadata(BaseModel):
    model_config = ConfigDict(extra="allow")

    communication_id: Uuid
    company_id: Uuid
    voice_agent_outbound_config_id: Uuid


class CallOutcome(BaseModel):
    """What the provider reports when a call ends."""

    call_id: Annotated[str, Field(min_length=1, max_length=200)]
    metadata: CallMetadata
    answered: bool
    talk_seconds: Annotated[float, Field(ge=0, le=86_400)] = 0
    end_reason: Annotated[str, Field(min_length=1, max_length=100)]


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """``t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">``, the value of ``X-Signature``."""
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def verify(secret: str, header: str | None, body: bytes, now: datetime, tolerance_seconds: int) -> None:
    refused = Unauthorized("Missing, invalid or stale webhook signature")
    if not header:
        raise refused
    parts = dict(part.split("=", 1) for part in header.split(",") if "=" in part)
    try:
        timestamp = int(parts["t"])
    except (KeyError, ValueError):
        raise refused from None
    if abs(now.timestamp() - timestamp) > tolerance_seconds:
        raise refused
    expected = sign(secret, timestamp, body).split("v1=", 1)[1]
    if not hmac.compare_digest(expected, parts.get("v1", "")):
        raise refused


def record_call_outcome(
    store: OutcomeStore,
    configs: ConfigSource,
    credentials: CredentialSource,
    outcome: CallOutcome,
    signature: str | None,
    raw_body: bytes,
    now: datetime,
    tolerance_seconds: int,
) -> dict[str, Any]:
    """Record a signed outcome on its row; a real conversation skips the cadence's queued next call."""
    meta = outcome.metadata
    found = configs.voice_config(meta.company_id, meta.voice_agent_outbound_config_id)
    if found is None:
        raise Unauthorized("Missing, invalid or stale webhook signature")
    verify(credentials.voice_credentials(found[1]).webhook_secret, signature, raw_body, now, tolerance_seconds)
    row = store.get(meta.company_id, meta.communication_id)
    if (
        row is None
        or row.channel is not Channel.VOICE_CALL
        or row.payload.get("voice_agent_outbound_config_id") != meta.voice_agent_outbound_config_id
        or row.dispatched_external_id not in (None, outcome.call_id)
    ):
        raise NotFound("No call with this id")
    recorded = {
        "call_id": outcome.call_id,
        "answered": outcome.answered,
        "talk_seconds": outcome.talk_seconds,
        "end_reason": outcome.end_reason,
        "received_at": format_instant(now),
    }
    saved = False
    for _ in range(3):  # the row may move (a tick finishing) between the read and the write
        saved = store.update_if_status(row, row.model_copy(update={"call_outcome": recorded}), row.status)
        if saved:
            break
        row = store.get(meta.company_id, meta.communication_id) or row
    if not saved:
        raise Conflict("The call's row kept changing; retry the webhook")
    stopped = None
    if was_conversation(recorded) and row.cadence_next_id:
        queued = store.get(meta.company_id, row.cadence_next_id)
        if queued is not None and queued.status is Status.PENDING:
            reason = (
                f"cadence stopped: the contact spoke for {outcome.talk_seconds:g}s on call {row.cadence_attempt or 1}"
            )
            skipped = queued.model_copy(update={"status": Status.SKIPPED, "skip_reason": reason, "updated_at": now})
            if store.update_if_status(queued, skipped, Status.PENDING):  # the stream publishes the skip
                stopped = queued.id
    return {"communication_id": row.id, "recorded": saved, "cadence_stopped": stopped}
