"""The planner's use case: a campaign in ``scheduling`` gets each contact's call slot as an ordinary voice-call
row of the dispatch engine, in batches, in the background.

Work is checkpointed after every batch (the next contact to plan, and each local day's slots taken), so a
planner that dies resumes where the last checkpoint left it, and plans exactly what an uninterrupted run
would: the slots are a function of the settings, the start and the contact's index (``planning``), and a
row's id is a function of the campaign, the contact and the plan's start. The batch after a checkpoint may
have been written in part by the planner that died: its rows are written on condition that they do not exist
(a row already claimed by the tick is never overwritten); later batches go out with BatchWriteItem.

One planner works on a campaign at a time (a lease on the plan). A re-plan (resume, or a PATCH of the
schedule) gives the contacts not yet dialled new slots from now, each local day's calls already placed
counting against its cap, and rewrites their rows there: while the campaign is ``scheduling`` none of those
calls can be placed (the gate holds them), so the rewrite needs no condition.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable, Iterator
from contextlib import suppress
from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import islice

from scheduled_comms.errors import NotPending, PlanAbandoned
from scheduled_comms.logic.campaigns.planning import PlannedCall, plan_calls
from scheduled_comms.models.campaigns import (
    TERMINAL_CONTACT_STATUSES,
    Campaign,
    CampaignContact,
    CampaignStatus,
    Contact,
    ContactStatus,
    PlannedContact,
    PlanProgress,
)
from scheduled_comms.models.domain import MAX_ATTEMPTS, Channel, Communication, Source, Status
from scheduled_comms.observability import logger
from scheduled_comms.ports import CampaignPlanStore, CommunicationStore, HolidaySource

BATCH_CONTACTS = 500  # contacts planned between two checkpoints
WIND_DOWN_BATCH = 98  # contacts a wind-down step cancels: DynamoDB's 100 items a transaction, less two
LEASE = timedelta(minutes=15)  # Lambda's longest run: a planner that dies lets go by then
RESERVE_SECONDS = 30.0  # the time a planner keeps for its last batch and its hand-over
ENTITY_TYPE = "batch_call"
# Statuses a re-plan moves: not yet dialled.
REPLANNED = frozenset({ContactStatus.PENDING, ContactStatus.SCHEDULED})
CANCELLED_REASON = "its batch call was cancelled"


@dataclass(frozen=True)
class PlanReport:
    planned: int
    finished: bool
    reason: str = ""


def planned_row_id(campaign_id: str, index: int, started_at: datetime) -> str:
    """A UUIDv7 for a contact's call row: its time the plan's start (rows list in plan order), its random bits
    a hash of the campaign and the contact, so a resumed planner names the row it may already have written."""
    millis = int(started_at.timestamp() * 1000) & ((1 << 48) - 1)
    rand = int.from_bytes(hashlib.blake2b(f"{campaign_id}:{index}".encode(), digest_size=10).digest(), "big")
    value = (millis << 80) | (0x7 << 76) | (rand & ((1 << 76) - 1))
    value = (value & ~(0xC << 60)) | (0x8 << 60)
    return str(uuid.UUID(int=value))


def call_row(
    campaign: Campaign, entry: CampaignContact, call: PlannedCall, row_id: str, now: datetime
) -> Communication:
    """The voice-call row that calls one contact at its slot."""
    person = entry.contact
    variables = {**campaign.dynamic_variables, **person.dynamic_variables}
    metadata: dict[str, object] = {
        "batch_call_id": campaign.id,
        "contact_index": entry.index,
        "phone_number_id": call.phone_number_id,
        "local_date": call.local_date.isoformat(),  # the day whose cap the call counts against
    }
    if entry.attempts:  # a retry the policy queued, moved by a re-plan: still the contact's next attempt
        metadata["attempt"] = entry.attempts + 1
    payload: dict[str, object] = {
        "voice_agent_outbound_config_id": campaign.agent_id,
        "to_number": person.phone_number,
        "metadata": metadata,
    }
    if variables:
        payload["dynamic_variables"] = variables
    return Communication(
        id=row_id,
        company_id=campaign.company_id,
        channel=Channel.VOICE_CALL,
        status=Status.PENDING,
        scheduled_for=call.scheduled_at,
        payload=payload,
        contact_id=person.contact_id,
        related_entity_type=ENTITY_TYPE,
        related_entity_id=campaign.id,
        max_attempts=MAX_ATTEMPTS[Channel.VOICE_CALL],
        source=Source.CAMPAIGN,
        created_at=now,
        updated_at=now,
    )


def _to_plan(store: CampaignPlanStore, campaign: Campaign, progress: PlanProgress) -> Iterator[CampaignContact]:
    """The contacts the plan gives slots to, in order: every one at the first plan, those not yet dialled after."""
    for entry in store.source_contacts(campaign, progress.next_index):
        if progress.epoch == 1 or entry.status in REPLANNED:
            yield entry


def _planned(
    campaign: Campaign, entry: CampaignContact, call: PlannedCall, progress: PlanProgress, at: datetime
) -> PlannedContact:
    row_id = entry.row_id or planned_row_id(campaign.id, entry.index, progress.started_at)
    # Written in part by a planner of this plan that died: pending or not as it was before that planner.
    was_pending = (
        bool(entry.pending_before) if entry.planned_in == progress.epoch else entry.status is ContactStatus.PENDING
    )
    updated = entry.model_copy(
        update={
            "status": ContactStatus.SCHEDULED,
            "scheduled_at": call.scheduled_at,
            "local_date": call.local_date,
            "phone_number_id": call.phone_number_id,
            "row_id": row_id,
            "planned_in": progress.epoch,
            "pending_before": was_pending,
            "updated_at": at,
        }
    )
    return PlannedContact(
        entry=updated,
        row=call_row(campaign, updated, call, row_id, at),
        was_pending=was_pending,
        moved=entry.row_id is not None,
    )


def plan_campaign(
    store: CampaignPlanStore,
    company_id: str,
    campaign_id: str,
    now: Callable[[], datetime],
    seconds_left: Callable[[], float],
    batch_contacts: int = BATCH_CONTACTS,
    calendar: HolidaySource | None = None,
) -> PlanReport:
    """Plan a ``scheduling`` campaign's contacts from its checkpoint on, a batch at a time, until done (then it
    is ``scheduled``) or until only the reserve of time is left (then the plan is handed over: another run
    resumes it). Anything else (not scheduling, another planner at work) is left alone."""
    campaign = store.get(company_id, campaign_id, consistent=True)
    if campaign is None or campaign.status is not CampaignStatus.SCHEDULING:
        return PlanReport(0, False, "not scheduling")
    started = now()
    progress = store.claim_plan(campaign, started, started + LEASE)
    if progress is None:
        return PlanReport(0, False, "another planner holds the plan")
    if progress.epoch > 1 and progress.planned == 0:
        # A re-plan (resume, redistribution): the calls already placed each day count against its cap.
        progress.taken = store.calls_placed(campaign, (progress.started_at - timedelta(days=1)).date())
    entries: dict[int, CampaignContact] = {}

    def contacts() -> Iterator[tuple[int, Contact]]:
        for entry in _to_plan(store, campaign, progress):
            entries[entry.index] = entry
            yield entry.index, entry.contact

    calls = plan_calls(
        campaign.settings,
        contacts(),
        now=progress.started_at,
        numbers=campaign.phone_number_ids,
        seed=campaign.id,
        taken=dict(progress.taken),
        # The company's holidays are closed days too (as they are when the plan is made).
        holidays=calendar.holidays(company_id) if calendar is not None else None,
    )
    # A planner that died may have written part of the batch after its checkpoint: its new rows are written on
    # condition that they do not exist (rows of contacts that name one are moved on condition, always).
    careful = progress.resumed
    planned_now = 0
    while batch := list(islice(calls, batch_contacts)):
        at = now()
        planned = [_planned(campaign, entries.pop(call.index), call, progress, at) for call in batch]
        for call in batch:
            progress.taken[call.local_date] = call.day_slot + 1
        progress.next_index = batch[-1].index + 1
        progress.planned += len(batch)
        try:
            store.write_plan_batch(campaign, progress, planned, careful=careful)
        except PlanAbandoned:  # paused, cancelled or re-planned meanwhile: the next plan takes over
            store.hand_over(campaign, progress)
            return PlanReport(planned_now, False, "the campaign changed")
        careful = False
        planned_now += len(batch)
        if seconds_left() < RESERVE_SECONDS:
            store.hand_over(campaign, progress)
            logger.info("plan handed over", extra={"batch_call_id": campaign.id, "planned": planned_now})
            return PlanReport(planned_now, False, "out of time")
    store.finish_plan(campaign, progress, now())
    # A re-plan can find nothing left to dial: the calls still going on when it began may all have ended
    # meanwhile, their outcomes finding the campaign scheduling (which does not complete).
    finished = store.get(company_id, campaign_id, consistent=True)
    if finished is not None:
        done = sum(finished.counts.get(status, 0) for status in TERMINAL_CONTACT_STATUSES)
        if done >= finished.contacts_total and finished.status is CampaignStatus.SCHEDULED:
            store.complete(finished, now())
    return PlanReport(planned_now, True)


def wind_down_campaign(
    store: CampaignPlanStore,
    rows: CommunicationStore,
    company_id: str,
    campaign_id: str,
    now: Callable[[], datetime],
    seconds_left: Callable[[], float],
) -> PlanReport:
    """A cancelled campaign's contacts not yet dialled end ``cancelled`` soon after the cancel, not at their slots.

    A walk over the contacts, checkpointed and leased as a plan is (``store.cancel`` started a new epoch, so it
    begins at the first contact, and a planner still at work lets go): each call row still pending is cancelled
    (the table's stream then ends its contact, as it does for a cancel by match), and the contacts that never
    had a row (a plan cut short) are cancelled with the checkpoint, in one transaction. A row a tick holds
    meanwhile is skipped by the campaign gate and its contact cancelled all the same. Safe to repeat."""
    campaign = store.get(company_id, campaign_id, consistent=True)
    if campaign is None or campaign.status is not CampaignStatus.CANCELLED or campaign.wound_down_at is not None:
        return PlanReport(0, False, "nothing to wind down")
    started = now()
    progress = store.claim_plan(campaign, started, started + LEASE)
    if progress is None:
        return PlanReport(0, False, "another planner holds the plan")
    contacts = store.source_contacts(campaign, progress.next_index)
    open_contacts = (entry for entry in contacts if entry.status in REPLANNED)
    ended = 0
    while batch := list(islice(open_contacts, WIND_DOWN_BATCH)):
        at = now()
        for entry in batch:
            if entry.row_id is not None:
                _cancel_call(rows, company_id, entry.row_id, at)
        never_called = [
            entry.model_copy(
                update={"status": ContactStatus.CANCELLED, "last_error": CANCELLED_REASON, "updated_at": at}
            )
            for entry in batch
            if entry.row_id is None
        ]
        progress.next_index = batch[-1].index + 1
        progress.planned += len(batch)
        try:
            store.write_wind_down_batch(campaign, progress, never_called, at)
        except PlanAbandoned:
            return PlanReport(ended, False, "the wind-down lost its lease")
        ended += len(batch)
        if seconds_left() < RESERVE_SECONDS:
            store.hand_over(campaign, progress)
            return PlanReport(ended, False, "out of time")
    store.finish_wind_down(campaign, progress, now())
    logger.info("batch call wound down", extra={"batch_call_id": campaign.id, "contacts": ended})
    return PlanReport(ended, True)


def _cancel_call(rows: CommunicationStore, company_id: str, row_id: str, now: datetime) -> None:
    row = rows.get(company_id, row_id, consistent=True)
    if row is None or row.status is not Status.PENDING:
        return  # already placed or ended: its outcome ends the contact
    with suppress(NotPending):  # a tick took it meanwhile: the campaign gate skips it
        rows.cancel_pending(row, now)


def work_on_campaign(
    store: CampaignPlanStore,
    rows: CommunicationStore,
    company_id: str,
    campaign_id: str,
    now: Callable[[], datetime],
    seconds_left: Callable[[], float],
    calendar: HolidaySource | None = None,
) -> PlanReport:
    """A campaign's background work, whichever is due: its plan (scheduling) or its wind-down (cancelled)."""
    campaign = store.get(company_id, campaign_id, consistent=True)
    if campaign is not None and campaign.status is CampaignStatus.CANCELLED:
        return wind_down_campaign(store, rows, company_id, campaign_id, now, seconds_left)
    return plan_campaign(store, company_id, campaign_id, now, seconds_left, calendar=calendar)
