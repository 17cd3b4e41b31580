"""Campaign events for other services, read from the table's change stream like the rows' transitions:
``campaign.completed`` (and ``campaign.cancelled``) when a batch call ends, and ``campaign.contact_outcome``
when one of its contacts arrives in a terminal status (completed with the call's outcome, failed, skipped,
cancelled). Delivery is at least once; consumers deduplicate on the event's ids and ``status``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from scheduled_comms.logic.transitions import EventNotPublished
from scheduled_comms.models.campaigns import (
    TERMINAL_CONTACT_STATUSES,
    Campaign,
    CampaignContact,
    CampaignStatus,
)
from scheduled_comms.models.values import format_instant
from scheduled_comms.observability import mask_personal_data
from scheduled_comms.ports import EventPublisher

CAMPAIGN_ENDINGS = frozenset({CampaignStatus.COMPLETED, CampaignStatus.CANCELLED})
CONTACT_OUTCOME = "campaign.contact_outcome"


@dataclass(frozen=True)
class CampaignChange:
    old: Campaign | None
    new: Campaign | None


@dataclass(frozen=True)
class ContactChange:
    company_id: str
    batch_call_id: str
    old: CampaignContact | None
    new: CampaignContact | None


def campaign_event(change: CampaignChange) -> tuple[str, dict[str, Any]] | None:
    """``campaign.<status>`` for a batch call arriving completed or cancelled; None for any other write."""
    new, old = change.new, change.old
    if new is None or new.status not in CAMPAIGN_ENDINGS or (old is not None and old.status is new.status):
        return None
    return f"campaign.{new.status.value}", {
        "batch_call_id": new.id,
        "company_id": new.company_id,
        "status": new.status.value,
        "contacts_total": new.contacts_total,
        "contacts": {status.value: count for status, count in new.counts.items() if count},
        "credits_reserved": new.credits_reserved,
        "credits_returned": new.credits_returned,
        "at": format_instant(new.updated_at),
    }


def contact_event(change: ContactChange) -> tuple[str, dict[str, Any]] | None:
    """``campaign.contact_outcome`` for a contact arriving in a terminal status (never its number or name)."""
    new, old = change.new, change.old
    if new is None or new.status not in TERMINAL_CONTACT_STATUSES:
        return None
    if old is not None and old.status in TERMINAL_CONTACT_STATUSES:
        return None
    return CONTACT_OUTCOME, {
        "batch_call_id": change.batch_call_id,
        "company_id": change.company_id,
        "contact_index": new.index,
        "contact_id": new.contact.contact_id,
        "communication_id": new.row_id,
        "status": new.status.value,
        "attempts": new.attempts,
        "outcome": new.outcome,
        "last_error": mask_personal_data(new.last_error) if new.last_error else None,
        "at": format_instant(new.updated_at),
    }


def publish_campaign_change(
    change: CampaignChange | ContactChange, events: EventPublisher
) -> tuple[str, dict[str, Any]] | None:
    """Publish the change's event, if it is one; ``EventNotPublished`` if the bus refused it."""
    event = campaign_event(change) if isinstance(change, CampaignChange) else contact_event(change)
    if event is None:
        return None
    if events.publish_details([event]):
        raise EventNotPublished(f"the bus refused the {event[0]} event of batch call {event[1]['batch_call_id']}")
    return event
