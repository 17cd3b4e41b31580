"""The campaign side of dialling: what the tick does with a campaign's due call, and what its outcome does.

Only a ``scheduled`` or ``active`` campaign dials. A paused campaign's calls wait (held, not failed: resuming
moves them to their new slots), a cancelled one's are skipped, and while a plan is being made they wait for it.
A call holds one of the campaign's ``max_concurrent_calls`` slots from its dial until its outcome webhook, or
until the longest a call may last (a lost webhook does not keep the slot); a call that finds every slot held
waits a few seconds, keeping its place (its own slot time) among the others held.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from scheduled_comms.logic.dispatch.policy import Decision, Hold, Skip
from scheduled_comms.models.campaigns import TERMINAL_CONTACT_STATUSES, CampaignStatus
from scheduled_comms.models.domain import Communication, Source
from scheduled_comms.ports import CampaignCallStore

PAUSED_HOLD = timedelta(hours=1)  # resuming re-plans the row anyway; this only bounds how often it is looked at
PLANNING_HOLD = timedelta(minutes=1)
SLOT_RECHECK = timedelta(seconds=5)
OUTCOME_FIELDS = ("call_id", "answered", "talk_seconds", "end_reason")


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
                if self._campaigns.take_slot(row, index, campaign_id, limit, now, now + self._max_call):
                    return None
                # Behind the calls held before it, in slot order: its planned time keeps its place.
                offset = (row.intended_time - datetime.min.replace(tzinfo=now.tzinfo)).total_seconds() % 1
                return Hold(now + SLOT_RECHECK + timedelta(seconds=offset))
            case CampaignStatus.PAUSED:
                return Hold(now + PAUSED_HOLD)
            case CampaignStatus.SCHEDULING | CampaignStatus.DRAFT:
                return Hold(now + PLANNING_HOLD)
            case _:
                return Skip(f"its batch call is {campaign.status.value}")


def campaign_call_ended(store: CampaignCallStore, row: Communication, outcome: dict[str, Any], now: datetime) -> None:
    """A campaign call's outcome arrived: its slot freed, its contact completed with the outcome, and the campaign
    completed once every contact is terminal. Safe to repeat (a replayed webhook changes nothing more)."""
    found = campaign_of(row)
    if found is None:
        return
    campaign_id, index = found
    store.free_slot(row.company_id, campaign_id, row.id)
    kept: dict[str, Any] = {name: outcome[name] for name in OUTCOME_FIELDS if name in outcome}
    campaign = store.call_ended(row.company_id, campaign_id, index, row.id, kept, now)
    if campaign is None:
        return
    finished = sum(campaign.counts.get(status, 0) for status in TERMINAL_CONTACT_STATUSES)
    if finished >= campaign.contacts_total and campaign.status is CampaignStatus.ACTIVE:
        store.complete(campaign, now)
