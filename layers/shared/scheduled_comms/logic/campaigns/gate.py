"""The campaign side of dialling: what the tick does with a campaign's due call, and what its outcome does.

Only a ``scheduled`` or ``active`` campaign dials. A paused campaign's calls wait (held, not failed: resuming
moves them to their new slots), a cancelled one's are skipped, and while a plan is being made they wait for it.
A call holds one of the campaign's ``max_concurrent_calls`` slots from its dial until its outcome webhook, or
until the longest a call may last (a lost webhook does not keep the slot); a call that finds every slot held
waits a few seconds, keeping its place (its own slot time) among the others held.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from scheduled_comms.logic.campaigns.planning import PlannedCall, plan_calls
from scheduled_comms.logic.dispatch.policy import Decision, Hold, Skip
from scheduled_comms.logic.transitions import RowChange, transition_to_publish
from scheduled_comms.models.campaigns import (
    TERMINAL_CONTACT_STATUSES,
    Campaign,
    CampaignStatus,
    Contact,
    ContactStatus,
    DaySlot,
    OutcomeKind,
    RetryOutcome,
    outcome_kind,
)
from scheduled_comms.models.domain import Communication, Source, Status
from scheduled_comms.models.values import new_id
from scheduled_comms.ports import CampaignCallStore, CommunicationStore

CAMPAIGN_CANCELLED = "its batch call is cancelled"  # the skip of a call whose campaign was cancelled
PAUSED_HOLD = timedelta(hours=1)  # resuming re-plans the row anyway; this only bounds how often it is looked at
PLANNING_HOLD = timedelta(minutes=1)
SLOT_RECHECK = timedelta(seconds=5)
OUTCOME_FIELDS = ("call_id", "answered", "talk_seconds", "end_reason")
ENGINE_FAILED = {"answered": False, "end_reason": "failed"}  # the outcome of a call the engine failed


def campaign_of(row: Communication) -> tuple[str, int] | None:
    """(campaign id, contact index) of a campaign's call row."""
    if row.source is not Source.CAMPAIGN:
        return None
    metadata = row.payload.get("metadata") or {}
    if "batch_call_id" not in metadata:
        return None
    return str(metadata["batch_call_id"]), int(metadata.get("contact_index", 0))


class CampaignCallGate:
    """The dispatch engine's hook for campaign rows (``Dispatcher(gates=...)``)."""

    def __init__(self, campaigns: CampaignCallStore, max_call: timedelta) -> None:
        self._campaigns = campaigns
        self._max_call = max_call

    def decide(self, row: Communication, now: datetime) -> Decision | None:
        """Hold or skip a due campaign call; None to place it (its slot taken)."""
        found = campaign_of(row)
        if found is None:
            return None
        campaign_id, index = found
        campaign = self._campaigns.get(row.company_id, campaign_id, consistent=True)
        if campaign is None:
            return Skip("its batch call no longer exists")
        match campaign.status:
            case CampaignStatus.SCHEDULED | CampaignStatus.ACTIVE:
                limit = campaign.settings.max_concurrent_calls
                planned_day = (row.payload.get("metadata") or {}).get("local_date")
                day = (
                    date.fromisoformat(planned_day)
                    if planned_day
                    else now.astimezone(ZoneInfo(campaign.settings.timezone)).date()
                )
                if self._campaigns.take_slot(row, index, campaign_id, limit, now, now + self._max_call, day):
                    return None
                # Behind the calls held before it, in slot order: its planned time keeps its place.
                offset = (row.intended_time - datetime.min.replace(tzinfo=now.tzinfo)).total_seconds() % 1
                return Hold(now + SLOT_RECHECK + timedelta(seconds=offset))
            case CampaignStatus.PAUSED:
                return Hold(now + PAUSED_HOLD)
            case CampaignStatus.SCHEDULING | CampaignStatus.DRAFT:
                return Hold(now + PLANNING_HOLD)
            case CampaignStatus.CANCELLED:
                return Skip(CAMPAIGN_CANCELLED)
            case _:
                return Skip(f"its batch call is {campaign.status.value}")


def retry_outcome(outcome: dict[str, Any]) -> RetryOutcome | None:
    """What a call's outcome is for the retry policy; None after a real conversation (never retried)."""
    kind = outcome_kind(outcome)
    return None if kind is OutcomeKind.CONVERSATION else RetryOutcome(kind.value)


def call_attempt(row: Communication) -> int:
    """Which of its contact's calls ``row`` places (1 for the planned one, more for the policy's retries)."""
    return int((row.payload.get("metadata") or {}).get("attempt", 1))


def retry_call_slot(
    campaign: Campaign, row: Communication, index: int, now: datetime, taken: dict[date, int]
) -> PlannedCall:
    """The slot of the contact's next call: ``retry_after_minutes`` after ``now``, the first free slot of a window
    from then on (``taken``: each local day's slots the plan and earlier retries took, so no day goes over its
    cap)."""
    contact = Contact.model_construct(phone_number=str(row.payload.get("to_number")), timezone=None)
    return next(
        plan_calls(
            campaign.settings.model_copy(update={"scheduled_at": None}),
            [(index, contact)],
            # From when the call ended (or, should the webhook's clock be behind the tick's, when it was placed).
            now=max(now, row.dispatched_at or now) + timedelta(minutes=campaign.settings.retry.retry_after_minutes),
            numbers=[str((row.payload.get("metadata") or {}).get("phone_number_id"))],
            seed=campaign.id,
            taken=taken,
        )
    )


def retry_row(row: Communication, call: PlannedCall, now: datetime) -> Communication:
    """The row of the contact's next call, at ``call``'s slot."""
    metadata = {
        **(row.payload.get("metadata") or {}),
        "attempt": call_attempt(row) + 1,
        "local_date": call.local_date.isoformat(),
    }
    return Communication(
        id=new_id(now),
        company_id=row.company_id,
        channel=row.channel,
        status=Status.PENDING,
        scheduled_for=call.scheduled_at,
        payload={**row.payload, "metadata": metadata},
        contact_id=row.contact_id,
        related_entity_type=row.related_entity_type,
        related_entity_id=row.related_entity_id,
        max_attempts=row.max_attempts,
        source=Source.CAMPAIGN,
        created_at=now,
        updated_at=now,
    )


RETRY_SLOT_ATTEMPTS = 5  # concurrent retries racing for one day's next slot: each loser plans again


def retried(
    store: CampaignCallStore, campaign_id: str, index: int, row: Communication, outcome: dict[str, Any], now: datetime
) -> bool:
    """Whether the campaign's retry policy scheduled the contact's next call after ``row``'s ended with ``outcome``:
    the campaign scheduled or active, the outcome one of its ``retry_on`` (never a real conversation), attempts
    left. The retry takes the first free slot of its day in the same write that schedules it, so retries count
    against ``max_calls_per_day`` as planned calls do; False when none was due or the contact had moved on."""
    for _ in range(RETRY_SLOT_ATTEMPTS):
        campaign = store.get(row.company_id, campaign_id, consistent=True)
        if campaign is None or campaign.status not in (CampaignStatus.SCHEDULED, CampaignStatus.ACTIVE):
            return False
        policy = campaign.settings.retry
        if retry_outcome(outcome) not in policy.retry_on or call_attempt(row) >= policy.max_attempts:
            return False
        taken = store.slots_taken(campaign)
        call = retry_call_slot(campaign, row, index, now, taken)
        slot = DaySlot(call.local_date, taken.get(call.local_date), call.day_slot + 1)
        done = store.retry_call(campaign, index, row.id, outcome, retry_row(row, call, now), slot, now)
        if done is not None:
            return done
    return False


def campaign_call_ended(store: CampaignCallStore, row: Communication, outcome: dict[str, Any], now: datetime) -> None:
    """A campaign call's outcome arrived: its slot freed; then, if the campaign's retry policy calls for another
    attempt (``retried``), the contact scheduled again with a new call row, else the contact completed with the
    outcome and the campaign completed once every contact is terminal. Safe to repeat (a replayed webhook
    changes nothing more)."""
    found = campaign_of(row)
    if found is None:
        return
    campaign_id, index = found
    store.free_slot(row.company_id, campaign_id, row.id)
    kept: dict[str, Any] = {name: outcome[name] for name in OUTCOME_FIELDS if name in outcome}
    if retried(store, campaign_id, index, row, kept, now):
        return
    ended = store.call_ended(row.company_id, campaign_id, index, row.id, kept, now)
    if ended is not None:
        complete_if_done(store, ended, now)


def complete_if_done(store: CampaignCallStore, campaign: Campaign, now: datetime) -> bool:
    """The campaign completed if every one of its contacts is terminal (and it is scheduled or active)."""
    finished = sum(campaign.counts.get(status, 0) for status in TERMINAL_CONTACT_STATUSES)
    if finished < campaign.contacts_total or campaign.status not in (CampaignStatus.SCHEDULED, CampaignStatus.ACTIVE):
        return False
    return store.complete(campaign, now)


# What a campaign call ended without an outcome webhook makes of its contact: the engine failed or skipped it
# (its callee on the do-not-contact list, say), or a cancel by match or of its campaign cancelled it.
ENDED_BY_ENGINE = {
    Status.FAILED: ContactStatus.FAILED,
    Status.SKIPPED: ContactStatus.SKIPPED,
    Status.CANCELLED: ContactStatus.CANCELLED,
}


def ended_as(row: Communication) -> ContactStatus | None:
    """The contact status a campaign call the engine ended gives its contact (a call skipped because its
    campaign was cancelled: cancelled, as the campaign's wind-down cancels the others)."""
    if row.status is Status.SKIPPED and row.skip_reason == CAMPAIGN_CANCELLED:
        return ContactStatus.CANCELLED
    return ENDED_BY_ENGINE.get(row.status)


def campaign_call_finished(store: CampaignCallStore, row: Communication, now: datetime) -> bool:
    """A campaign call the dispatch engine ended, read from the table's stream: failed (attempts spent, the
    provider refused), skipped (its callee on the do-not-contact list, its campaign cancelled) or cancelled. Its
    slot freed; a failed call retried if the campaign's policy retries ``failed``; else its contact ended as
    ``ended_as`` says with the row's error, and the campaign completed once every contact is terminal. Safe to
    repeat; False when the row is not such a call or its contact had already moved on."""
    found = campaign_of(row)
    target = ended_as(row)
    if found is None or target is None:
        return False
    campaign_id, index = found
    store.free_slot(row.company_id, campaign_id, row.id)
    # A call the provider refused (the engine's attempts spent) is retried as a failed call is, by the policy.
    if row.status is Status.FAILED and retried(store, campaign_id, index, row, ENGINE_FAILED, now):
        return True
    reason = row.last_error or row.skip_reason or row.status.value
    campaign = store.contact_ended(row.company_id, campaign_id, index, row.id, target, reason, now)
    if campaign is None:
        return False
    complete_if_done(store, campaign, now)
    return True


def engine_ended_campaign_call(
    change: RowChange, store: CampaignCallStore, rows: CommunicationStore, now: datetime
) -> bool:
    """``campaign_call_finished`` for a stream record in which a campaign's call arrived failed or skipped.

    Stream images carry a payload only when it is kept in the row: one kept apart is read with the row."""
    row = transition_to_publish(change)
    if row is None or row.source is not Source.CAMPAIGN or row.status not in ENDED_BY_ENGINE:
        return False
    if "metadata" not in row.payload:
        row = rows.get(row.company_id, row.id) or row
    return campaign_call_finished(store, row, now)
