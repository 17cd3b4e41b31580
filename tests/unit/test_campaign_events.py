"""Campaign events: a batch call's ending and each contact's arrival in a terminal status, once each."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from scheduled_comms.logic.campaigns.events import CampaignChange, ContactChange, campaign_event, contact_event
from scheduled_comms.models.campaigns import (
    Campaign,
    CampaignContact,
    CampaignStatus,
    Contact,
    ContactStatus,
    DeliverySettings,
)

NOW = datetime(2027, 3, 1, 15, 0, tzinfo=UTC)


def campaign(status: CampaignStatus) -> Campaign:
    return Campaign(
        id="c1",
        company_id="co",
        name="x",
        settings=DeliverySettings(),
        status=status,
        counts={ContactStatus.COMPLETED: 2, ContactStatus.FAILED: 0},
        contacts_total=2,
        created_at=NOW,
        updated_at=NOW,
    )


def contact(status: ContactStatus, error: str | None = None) -> CampaignContact:
    return CampaignContact(
        index=4,
        contact=Contact(phone_number="+14155550100"),
        status=status,
        last_error=error,
        outcome={"answered": True, "talk_seconds": 9} if status is ContactStatus.COMPLETED else None,
        added_at=NOW,
        updated_at=NOW,
    )


def test_a_campaign_arriving_completed_is_one_event_with_its_counts():
    kind, detail = campaign_event(CampaignChange(campaign(CampaignStatus.ACTIVE), campaign(CampaignStatus.COMPLETED)))

    assert kind == "campaign.completed"
    assert detail["contacts"] == {"completed": 2} and detail["batch_call_id"] == "c1"
    again = CampaignChange(campaign(CampaignStatus.COMPLETED), campaign(CampaignStatus.COMPLETED))
    assert campaign_event(again) is None
    assert campaign_event(CampaignChange(campaign(CampaignStatus.SCHEDULED), campaign(CampaignStatus.ACTIVE))) is None


@pytest.mark.parametrize("status", [ContactStatus.COMPLETED, ContactStatus.FAILED, ContactStatus.SKIPPED])
def test_a_contact_arriving_in_a_terminal_status_is_one_outcome_event_without_its_number(status):
    change = ContactChange("co", "c1", contact(ContactStatus.IN_PROGRESS), contact(status, "refused +14155550100"))

    kind, detail = contact_event(change)

    assert (kind, detail["status"], detail["contact_index"]) == ("campaign.contact_outcome", status.value, 4)
    assert "+14155550100" not in str(detail)
    assert contact_event(ContactChange("co", "c1", contact(status), contact(status))) is None


def test_a_contact_moving_between_live_statuses_is_no_event():
    change = ContactChange("co", "c1", contact(ContactStatus.SCHEDULED), contact(ContactStatus.IN_PROGRESS))

    assert contact_event(change) is None
