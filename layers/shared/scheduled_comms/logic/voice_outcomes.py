"""Call-outcome webhooks: verify the provider's signature, record the outcome, stop the cadence."""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime
from typing import Annotated, Any

from pydantic import ConfigDict, Field

from scheduled_comms.errors import Conflict, NotFound, Unauthorized
from scheduled_comms.logic.dispatch.cadence import stop_reason
from scheduled_comms.models.base import Model
from scheduled_comms.models.domain import Channel, Status
from scheduled_comms.models.values import Uuid, format_instant
from scheduled_comms.ports import CampaignCallStore, ConfigSource, CredentialSource, DoNotContactStore, OutcomeStore

SIGNATURE_HEADER = "X-Signature"


class CallMetadata(Model):
    model_config = ConfigDict(extra="allow")

    communication_id: Uuid
    company_id: Uuid
    voice_agent_outbound_config_id: Uuid


class CallOutcome(Model):
    """What the provider reports when a call ends."""

    call_id: Annotated[str, Field(min_length=1, max_length=200)]
    metadata: CallMetadata
    answered: bool
    talk_seconds: Annotated[float, Field(ge=0, le=86_400)] = 0
    end_reason: Annotated[str, Field(min_length=1, max_length=100)]
    do_not_call: bool = Field(
        default=False, description="The callee asked not to be called again: the number joins the do-not-contact list"
    )


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


def _same_outcome(stored: dict[str, Any], received: dict[str, Any]) -> bool:
    if any(stored.get(name) != received[name] for name in ("call_id", "answered", "end_reason")):
        return False
    return float(stored.get("talk_seconds", -1)) == float(received["talk_seconds"])


def record_call_outcome(
    store: OutcomeStore,
    configs: ConfigSource,
    credentials: CredentialSource,
    outcome: CallOutcome,
    signature: str | None,
    raw_body: bytes,
    now: datetime,
    tolerance_seconds: int,
    campaigns: CampaignCallStore | None = None,
    do_not_contact: DoNotContactStore | None = None,
) -> dict[str, Any]:
    """Record a signed outcome on the row that placed the call; a real conversation skips the cadence's next call.

    An outcome names the call actually placed (404 otherwise; 409 before the row was dialled). The
    first outcome stays: the same one again is a replay that changes nothing, another one is a 409.
    """
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
    if row.dispatched_external_id is None:
        raise Conflict("This call has not been placed yet; send its outcome once it has")
    recorded = {
        "call_id": outcome.call_id,
        "answered": outcome.answered,
        "talk_seconds": outcome.talk_seconds,
        "end_reason": outcome.end_reason,
        "received_at": format_instant(now),
    }
    saved = row.call_outcome is None and store.record_call_outcome(row, recorded)
    if not saved:
        current = store.get(meta.company_id, meta.communication_id)
        previous = (current.call_outcome if current else None) or {}
        if not _same_outcome(previous, recorded):
            raise Conflict("This call already has a different outcome; outcomes are not overwritten")
        recorded = previous  # the same outcome again: nothing changes
    if outcome.do_not_call and do_not_contact is not None:  # again on a replay: the same entry
        from scheduled_comms.logic.protection import suppress
        from scheduled_comms.models.protection import SuppressedChannel

        number = str(row.payload.get("to_number", ""))
        suppress(
            do_not_contact, row.company_id, SuppressedChannel.VOICE, [number], "requested_on_call", "voice_outcome", now
        )
    if campaigns is not None:  # a campaign's call: its slot, its contact, its campaign (again on a replay)
        from scheduled_comms.logic.campaigns.gate import campaign_call_ended

        campaign_call_ended(campaigns, row, recorded, now)
    stopped = None
    reason = stop_reason(recorded, row.cadence_attempt)
    if reason and row.cadence_next_id:
        queued = store.get(meta.company_id, row.cadence_next_id)
        if queued is not None and queued.status is Status.PENDING:
            skipped = queued.model_copy(update={"status": Status.SKIPPED, "skip_reason": reason, "updated_at": now})
            if store.update_if_status(queued, skipped, Status.PENDING):  # the stream publishes the skip
                stopped = queued.id
    return {"communication_id": row.id, "recorded": saved, "replayed": not saved, "cadence_stopped": stopped}
