"""Campaign storage on moto: campaigns, folders, their contacts in order, counters, credits and held keys."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from scheduled_comms import composition
from scheduled_comms.errors import InsufficientCredits, InvalidState, NotFound, NumbersTaken
from scheduled_comms.models.campaigns import (
    Campaign,
    CampaignStatus,
    Contact,
    ContactFolder,
    ContactSource,
    ContactStatus,
    DeliverySettings,
)
from scheduled_comms.models.domain import IdempotencyClaim
from scheduled_comms.models.values import new_id

NOW = datetime(2026, 3, 16, 12, 0, tzinfo=UTC)


def contacts(count: int, first: int = 0) -> list[Contact]:
    return [Contact(phone_number=f"+1415555{first + i:04d}", name=f"Person {first + i}") for i in range(count)]


def new_campaign(company_id: str, name: str = "Renewals", at: datetime = NOW) -> Campaign:
    return Campaign(
        id=new_id(at),
        company_id=company_id,
        name=name,
        settings=DeliverySettings(timezone="America/New_York"),
        contact_source=ContactSource.INLINE,
        created_at=at,
        updated_at=at,
    )


@pytest.fixture
def store(stack):
    return composition.campaign_store()


@pytest.fixture
def company(make_company):
    return make_company(credits=10)


def test_a_campaign_is_stored_with_its_contacts_in_order_and_counted(store, company):
    campaign = store.create(new_campaign(company.id), contacts(3))

    stored = store.get(company.id, campaign.id)
    page, after = store.contacts(company.id, campaign.id, None, 10, None)

    assert stored == campaign
    assert stored.contacts_total == 3 and stored.counts == {ContactStatus.PENDING: 3}
    assert [c.index for c in page] == [0, 1, 2]
    assert [c.contact.phone_number for c in page] == [c.phone_number for c in contacts(3)]
    assert page[0].status is ContactStatus.PENDING and page[0].contact.name == "Person 0"
    assert after is None


def test_contacts_page_with_a_cursor_and_filter_by_status(store, company):
    campaign = store.create(new_campaign(company.id), contacts(5))

    first, after = store.contacts(company.id, campaign.id, None, 2, None)
    second, after_second = store.contacts(company.id, campaign.id, None, 2, after)
    last, end = store.contacts(company.id, campaign.id, None, 2, after_second)
    scheduled, none_left = store.contacts(company.id, campaign.id, ContactStatus.SCHEDULED, 10, None)

    assert [c.index for c in first + second + last] == [0, 1, 2, 3, 4]
    assert end is None
    assert scheduled == [] and none_left is None


def test_contacts_are_appended_to_a_draft_after_those_it_has(store, company):
    campaign = store.create(new_campaign(company.id), contacts(2))

    updated = store.add_contacts(campaign, contacts(2, first=2), NOW)
    page, _ = store.contacts(company.id, campaign.id, None, 10, None)

    assert updated.contacts_total == 4 and updated.counts[ContactStatus.PENDING] == 4
    assert [c.index for c in page] == [0, 1, 2, 3]
    assert store.known_numbers(company.id, campaign.id, ["+14155550003", "+14155559999"], NOW) == {"+14155550003"}


@pytest.mark.parametrize("dies_in", ["_reserve_indexes", "_write_contacts"])
def test_an_upload_that_died_holds_its_numbers_only_for_its_lease(store, company, monkeypatch, dies_in):
    from tests.integration.conftest import SimulatedCrash

    campaign = store.create(new_campaign(company.id), contacts(1))
    numbers = [c.phone_number for c in contacts(2, first=1)]

    def die(*args, **kwargs):
        raise SimulatedCrash

    with monkeypatch.context() as patched:  # after claiming the numbers, or after the guards name their indexes
        patched.setattr(store, dies_in, die)
        with pytest.raises(SimulatedCrash):
            store.add_contacts(campaign, contacts(2, first=1), NOW)
    soon, later = NOW + timedelta(seconds=30), NOW + timedelta(minutes=3)

    assert store.known_numbers(company.id, campaign.id, numbers, soon) == set(numbers), "an upload under way"
    with pytest.raises(NumbersTaken):
        store.add_contacts(campaign, contacts(1, first=1), soon)
    assert store.known_numbers(company.id, campaign.id, numbers, later) == set()
    current = store.get(company.id, campaign.id, consistent=True)
    added = store.add_contacts(current, contacts(2, first=1), later)
    page, _ = store.contacts(company.id, campaign.id, None, 10, None)
    assert [c.contact.phone_number for c in page][-2:] == numbers
    assert added.contacts_total - current.contacts_total == 2


def test_a_landed_uploads_numbers_stay_taken_after_its_lease(store, company):
    campaign = store.create(new_campaign(company.id), contacts(1))
    store.add_contacts(campaign, contacts(1, first=1), NOW)
    much_later = NOW + timedelta(days=30)

    assert store.known_numbers(company.id, campaign.id, ["+14155550001"], much_later) == {"+14155550001"}
    with pytest.raises(NumbersTaken):
        store.add_contacts(store.get(company.id, campaign.id), contacts(1, first=1), much_later)


def test_contacts_cannot_be_added_once_scheduling_and_nothing_is_written(store, company):
    campaign = store.create(new_campaign(company.id), contacts(1))
    scheduled = store.schedule(campaign, 1, NOW)

    with pytest.raises(InvalidState) as refused:
        store.add_contacts(scheduled, contacts(1, first=5), NOW)

    assert "scheduling" in refused.value.message
    assert store.get(company.id, campaign.id).contacts_total == 1


def test_campaigns_list_newest_first_filtered_by_status_with_a_cursor(store, company):
    made = [store.create(new_campaign(company.id, f"c{i}", NOW + timedelta(seconds=i)), []) for i in range(5)]
    store.set_status(made[1], CampaignStatus.CANCELLED, NOW)
    store.set_status(made[3], CampaignStatus.CANCELLED, NOW)

    first, after = store.list_campaigns(company.id, None, 3, None)
    rest, end = store.list_campaigns(company.id, None, 3, after)
    cancelled, _ = store.list_campaigns(company.id, CampaignStatus.CANCELLED, 10, None)

    assert [c.name for c in first + rest] == ["c4", "c3", "c2", "c1", "c0"]
    assert end is None
    assert [c.name for c in cancelled] == ["c3", "c1"]


def test_an_illegal_transition_names_the_current_status_and_changes_nothing(store, company):
    campaign = store.create(new_campaign(company.id), [])
    store.set_status(campaign, CampaignStatus.CANCELLED, NOW)

    with pytest.raises(InvalidState) as refused:
        store.set_status(campaign, CampaignStatus.CANCELLED, NOW)  # a stale copy: still draft

    assert refused.value.details[0].message == "is cancelled"
    assert store.get(company.id, campaign.id, consistent=True).status is CampaignStatus.CANCELLED


def test_scheduling_reserves_a_credit_per_contact_and_cancelling_returns_them(store, company):
    campaign = store.create(new_campaign(company.id), contacts(4))

    scheduled = store.schedule(campaign, 4, NOW)
    after_reserve = composition.credit_ledger().balance(company.id, consistent=True)
    cancelled = store.cancel(scheduled, NOW)

    assert scheduled.status is CampaignStatus.SCHEDULING and scheduled.plan_epoch == 1
    assert scheduled.credits_reserved == 4 and after_reserve == 6
    assert cancelled.status is CampaignStatus.CANCELLED and cancelled.credits_returned == 4
    assert composition.credit_ledger().balance(company.id, consistent=True) == 10


def test_scheduling_without_enough_credits_writes_nothing(store, make_company):
    poor = make_company(credits=2)
    campaign = store.create(new_campaign(poor.id), contacts(3))

    with pytest.raises(InsufficientCredits):
        store.schedule(campaign, 3, NOW)

    assert store.get(poor.id, campaign.id, consistent=True).status is CampaignStatus.DRAFT
    assert composition.credit_ledger().balance(poor.id, consistent=True) == 2


def test_another_companys_campaign_is_not_found(store, company, make_company):
    campaign = store.create(new_campaign(company.id), [])
    other = make_company()

    assert store.get(other.id, campaign.id) is None
    assert store.list_campaigns(other.id, None, 10, None) == ([], None)


def test_folders_hold_contacts_in_order_and_list_newest_first(store, company):
    older = ContactFolder(id=new_id(NOW), company_id=company.id, name="Old", created_at=NOW, updated_at=NOW)
    later = NOW + timedelta(seconds=1)
    newer = ContactFolder(id=new_id(later), company_id=company.id, name="New", created_at=later, updated_at=later)
    store.create_folder(older, contacts(2))
    store.create_folder(newer, [])

    grown = store.add_folder_contacts(older, contacts(1, first=7), NOW)
    folders, end = store.list_folders(company.id, 10, None)
    page, _ = store.folder_contacts(company.id, older.id, 10, None)

    assert grown.contacts_total == 3
    assert [f.name for f in folders] == ["New", "Old"] and end is None
    assert [c.contact.phone_number for c in page] == ["+14155550000", "+14155550001", "+14155550007"]
    assert store.known_folder_numbers(company.id, older.id, ["+14155550007"], NOW) == {"+14155550007"}


def test_contacts_cannot_be_added_to_a_folder_that_does_not_exist(store, company):
    ghost = ContactFolder(id=new_id(NOW), company_id=company.id, name="Ghost", created_at=NOW, updated_at=NOW)

    with pytest.raises(NotFound):
        store.add_folder_contacts(ghost, contacts(1), NOW)


def test_a_held_key_answers_its_stored_answer_until_released(stack, company):
    keys = composition.idempotency_store()
    claim = IdempotencyClaim(str(uuid.uuid4()), "f" * 64, NOW + timedelta(days=1))

    first = keys.hold(company.id, claim, NOW)
    while_running = keys.hold(company.id, claim, NOW)
    keys.complete(company.id, claim, (201, {"data": {"id": "x"}}))
    done = keys.hold(company.id, claim, NOW)
    keys.release(company.id, claim)

    assert first is None
    assert while_running is not None and while_running.answer is None
    assert done is not None and done.answer == (201, {"data": {"id": "x"}}) and done.fingerprint == "f" * 64
    assert keys.hold(company.id, claim, NOW) is None
