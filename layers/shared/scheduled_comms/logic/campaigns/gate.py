"""What the tick does with a campaign's call once the row is due: only a ``scheduled`` or ``active`` campaign
dials. A paused campaign's calls wait (held, not failed: resuming moves them to their new slots), a cancelled
one's are skipped, and while a plan is being made they wait for it."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Protocol

from scheduled_comms.logic.dispatch.policy import Decision, Hold, Skip
from scheduled_comms.models.campaigns import Campaign, CampaignStatus
from scheduled_comms.models.domain import Communication, Source

PAUSED_HOLD = timedelta(hours=1)  # resuming re-plans the row anyway; this only bounds how often it is looked at
PLANNING_HOLD = timedelta(minutes=1)


class CampaignReader(Protocol):
    def get(self, company_id: str, campaign_id: str, consistent: bool = False) -> Campaign | None: ...


class CampaignCallGate:
    """The dispatch engine's hook for campaign rows (``Dispatcher(gate=...)``)."""

    def __init__(self, campaigns: CampaignReader) -> None:
        self._campaigns = campaigns

    def decide(self, row: Communication, now: datetime) -> Decision | None:
        """Hold or skip a due campaign call; None to place it."""
        if row.source is not Source.CAMPAIGN:
            return None
        campaign_id = (row.payload.get("metadata") or {}).get("batch_call_id")
        campaign = self._campaigns.get(row.company_id, str(campaign_id), consistent=True) if campaign_id else None
        if campaign is None:
            return Skip("its batch call no longer exists")
        match campaign.status:
            case CampaignStatus.SCHEDULED | CampaignStatus.ACTIVE:
                return None
            case CampaignStatus.PAUSED:
                return Hold(now + PAUSED_HOLD)
            case CampaignStatus.SCHEDULING | CampaignStatus.DRAFT:
                return Hold(now + PLANNING_HOLD)
            case _:
                return Skip(f"its batch call is {campaign.status.value}")
