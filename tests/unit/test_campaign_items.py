"""Campaign, folder and contact items: keys, and codecs that give back what they were given."""

from __future__ import annotations

from datetime import UTC, date, datetime

from scheduled_comms.adapters.dynamodb.items import (
    CAMPAIGN_PREFIX,
    campaign_to_item,
    contact_list_partition,
    contact_to_item,
    folder_to_item,
    item_to_campaign,
    item_to_contact,
    item_to_folder,
)
from scheduled_comms.adapters.stream_records import row_change
from scheduled_comms.models.campaigns import (
    Campaign,
    CampaignContact,
    CampaignStatus,
    Contact,
    ContactFolder,
    ContactStatus,
    DeliverySettings,
)

NOW = datetime(2026, 3, 16, 12, 0, tzinfo=UTC)
COMPANY = "0190a0b0-0000-7000-8000-000000000001"
CAMPAIGN = "0190a0b0-0000-7000-8000-000000000002"


def test_a_campaign_item_decodes_to_the_campaign():
    campaign = Campaign(
        id=CAMPAIGN,
        company_id=COMPANY,
        name="Renewals",
        agent_id="0190a0b0-0000-7000-8000-000000000003",
        phone_number_ids=["0190a0b0-0000-7000-8000-000000000004"],
        dynamic_variables={"product": "Gold"},
        settings=DeliverySettings(timezone="America/New_York", excluded_dates=[date(2026, 7, 3)]),
        status=CampaignStatus.SCHEDULED,
        counts={ContactStatus.SCHEDULED: 3, ContactStatus.COMPLETED: 1},
        contacts_total=4,
        plan_epoch=2,
        credits_reserved=4,
        contacts_dialled=1,
        created_at=NOW,
        updated_at=NOW,
    )

    item = campaign_to_item(campaign)

    assert item["pk"] == {"S": f"CO#{COMPANY}"} and item["sk"] == {"S": f"{CAMPAIGN_PREFIX}{CAMPAIGN}"}
    assert item["n_scheduled"] == {"N": "3"} and item["next_index"] == {"N": "4"}
    assert item_to_campaign(item) == campaign


def test_a_contact_item_is_keyed_by_its_index_in_order_and_decodes_to_the_contact():
    partition = contact_list_partition(CAMPAIGN_PREFIX, COMPANY, CAMPAIGN)
    contact = CampaignContact(
        index=42,
        contact=Contact(phone_number="+14155550100", name="Ann", dynamic_variables={"plan": "gold"}),
        status=ContactStatus.SCHEDULED,
        scheduled_at=NOW,
        local_date=date(2026, 3, 16),
        phone_number_id="0190a0b0-0000-7000-8000-000000000004",
        added_at=NOW,
        updated_at=NOW,
    )

    item = contact_to_item(partition, contact)

    assert item["sk"] == {"S": "CT#000000042"} and "attempts" not in item
    assert contact_to_item(partition, contact.model_copy(update={"index": 9}))["sk"]["S"] < item["sk"]["S"]
    assert item_to_contact(item) == contact


def test_a_folder_item_decodes_to_the_folder():
    folder = ContactFolder(
        id=CAMPAIGN, company_id=COMPANY, name="Leads", contacts_total=7, created_at=NOW, updated_at=NOW
    )

    assert item_to_folder(folder_to_item(folder)) == folder


def test_the_stream_consumer_takes_campaign_items_for_no_row():
    item = campaign_to_item(
        Campaign(
            id=CAMPAIGN,
            company_id=COMPANY,
            name="x",
            settings=DeliverySettings(),
            status=CampaignStatus.CANCELLED,
            created_at=NOW,
            updated_at=NOW,
        )
    )

    assert (
        row_change({"eventName": "MODIFY", "dynamodb": {"Keys": {k: item[k] for k in ("pk", "sk")}, "NewImage": item}})
        is None
    )
