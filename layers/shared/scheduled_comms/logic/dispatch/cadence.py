"""Voice cadences: the follow-up call queued after each call, and when the cadence stops or waits.
Shared by the tick (which queues and sends the calls) and the call-outcome webhook (which stops it)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from scheduled_comms.logic.dispatch.policy import Decision, Hold, Skip
from scheduled_comms.models.domain import Channel, Communication, Source, Status
from scheduled_comms.models.values import new_id

NO_CREDIT_REASON = "no credits left to queue this follow-up call"
# The cadence stops once the contact has spoken for this long on a call.
CONVERSATION_SECONDS = 10
# A follow-up call waits (held, not an attempt) while the previous call may still be going on.
OUTCOME_WAIT = timedelta(minutes=30)
OUTCOME_RECHECK = timedelta(minutes=2)


def stop_reason(outcome: dict[str, Any] | None, call_attempt: int | None) -> str | None:
    """Why a cadence stops after call ``call_attempt`` (its contact answered and spoke), or None: it goes on."""
    if not outcome or not outcome.get("answered") or outcome.get("talk_seconds", 0) < CONVERSATION_SECONDS:
        return None
    return f"cadence stopped: the contact spoke for {outcome['talk_seconds']:g}s on call {call_attempt or 1}"


def cadence_decision(previous: Communication | None, now: datetime) -> Decision | None:
    """For a follow-up call, given the call before it: stop a cadence the contact already answered; wait
    while that call may be going on; None to decide as for any row."""
    if previous is None:
        return None
    reason = stop_reason(previous.call_outcome, previous.cadence_attempt)
    if reason:
        return Skip(reason)
    if previous.call_outcome is None and previous.dispatched_at and now - previous.dispatched_at < OUTCOME_WAIT:
        return Hold(now + OUTCOME_RECHECK)
    return None


def next_cadence_row(row: Communication, now: datetime) -> Communication | None:
    """The next call of a voice cadence, queued ``follow_up_delays[k-1]`` hours after call k went out."""
    follow_ups = row.payload.get("follow_ups") if row.channel is Channel.VOICE_CALL else None
    attempt = row.cadence_attempt or 1
    if not follow_ups or attempt >= follow_ups["max_attempts"]:
        return None
    payload = {
        "voice_agent_outbound_config_id": follow_ups["voice_agent_outbound_config_id"],
        "to_number": follow_ups["to_number"],
        "follow_ups": follow_ups,
    }
    variables = follow_ups.get("dynamic_variables") or row.payload.get("dynamic_variables")
    if variables:
        payload["dynamic_variables"] = variables
    if row.payload.get("metadata"):
        payload["metadata"] = row.payload["metadata"]
    respect = follow_ups.get("respect_business_hours")
    return Communication(
        id=new_id(now),
        company_id=row.company_id,
        channel=Channel.VOICE_CALL,
        status=Status.PENDING,
        scheduled_for=now + timedelta(hours=follow_ups["follow_up_delays"][attempt - 1]),
        timezone=row.timezone,
        respect_business_hours=row.respect_business_hours if respect is None else respect,
        payload=payload,
        contact_id=follow_ups.get("contact_id") or row.contact_id,
        customer_id=follow_ups.get("customer_id") or row.customer_id,
        deal_id=follow_ups.get("deal_id") or row.deal_id,
        related_entity_type=row.related_entity_type,
        related_entity_id=row.related_entity_id,
        cancellation_key=row.cancellation_key,
        transactional=row.transactional,
        cancel_policy=row.cancel_policy,
        max_attempts=row.max_attempts,
        source=Source.CADENCE,
        delivery=row.delivery,
        created_at=now,
        updated_at=now,
        cadence_id=row.cadence_id or row.id,
        cadence_attempt=attempt + 1,
        cadence_previous_id=row.id,
    )


def cadence_marks(row: Communication, follow_up: Communication | None) -> dict[str, Any]:
    """What a sent call of a cadence records: its cadence, its place in it and the call queued after it."""
    if row.channel is not Channel.VOICE_CALL or not row.payload.get("follow_ups"):
        return {}
    return {
        "cadence_id": row.cadence_id or row.id,
        "cadence_attempt": row.cadence_attempt or 1,
        "cadence_next_id": follow_up.id if follow_up else None,
    }
