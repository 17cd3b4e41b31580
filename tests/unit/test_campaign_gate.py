"""The dispatch engine's hook for campaign calls: only a scheduled or active campaign dials."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from scheduled_comms.logic.campaigns.gate import PAUSED_HOLD, PLANNING_HOLD, SLOT_RECHECK, CampaignCallGate
from scheduled_comms.logic.dispatch.policy import Hold, Skip
from scheduled_comms.models.campaigns import Campaign, CampaignStatus, DeliverySettings
from scheduled_comms.models.domain import Channel, Communication, Source, Status

NOW = datetime(2027, 3, 1, 15, 0, tzinfo=UTC)
COMPANY = "0190a0b0-0000-7000-8000-000000000001"
CAMPAIGN = "0190a0b0-0000-7000-8000-000000000002"


class Campaigns:
    def __init__(self, status: CampaignStatus | None, free_slots: bool = True):
        self.status = status
        self.free_slots = free_slots
        self.taken: list[tuple[str, int, int]] = []

    def take_slot(self, row, contact_index, campaign_id, limit, now, expires, local_date):
        self.taken.append((row.id, contact_index, limit))
        return self.free_slots

    def get(self, company_id, campaign_id, consistent=False):
        if self.status is None or (company_id, campaign_id) != (COMPANY, CAMPAIGN):
            return None
        return Campaign(
            id=CAMPAIGN,
            company_id=COMPANY,
            name="x",
            settings=DeliverySettings(),
            status=self.status,
            created_at=NOW,
            updated_at=NOW,
        )


def call(source: Source = Source.CAMPAIGN) -> Communication:
    return Communication(
        id="0190a0b0-0000-7000-8000-000000000003",
        company_id=COMPANY,
        channel=Channel.VOICE_CALL,
        status=Status.DISPATCHING,
        scheduled_for=NOW,
        max_attempts=2,
        source=source,
        created_at=NOW,
        updated_at=NOW,
        payload={"to_number": "+14155550100", "metadata": {"batch_call_id": CAMPAIGN, "contact_index": 0}},
    )


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        (CampaignStatus.SCHEDULED, None),
        (CampaignStatus.ACTIVE, None),
        (CampaignStatus.PAUSED, Hold(NOW + PAUSED_HOLD)),
        (CampaignStatus.SCHEDULING, Hold(NOW + PLANNING_HOLD)),
        (CampaignStatus.CANCELLED, Skip("its batch call is cancelled")),
        (CampaignStatus.COMPLETED, Skip("its batch call is completed")),
        (None, Skip("its batch call no longer exists")),
    ],
)
def test_a_campaign_call_goes_out_only_while_its_campaign_is_scheduled_or_active(status, expected):
    assert CampaignCallGate(Campaigns(status), timedelta(minutes=30)).decide(call(), NOW) == expected


def test_a_call_takes_one_of_the_campaigns_slots_and_waits_a_moment_when_none_is_free():
    campaigns = Campaigns(CampaignStatus.ACTIVE)
    full = Campaigns(CampaignStatus.ACTIVE, free_slots=False)

    assert CampaignCallGate(campaigns, timedelta(minutes=30)).decide(call(), NOW) is None
    held = CampaignCallGate(full, timedelta(minutes=30)).decide(call(), NOW)

    assert campaigns.taken == [("0190a0b0-0000-7000-8000-000000000003", 0, 1)]
    assert isinstance(held, Hold) and NOW + SLOT_RECHECK <= held.until < NOW + SLOT_RECHECK + timedelta(seconds=1)


def test_a_row_of_no_campaign_is_left_to_the_engine():
    assert (
        CampaignCallGate(Campaigns(CampaignStatus.CANCELLED), timedelta(minutes=30)).decide(call(Source.API), NOW)
        is None
    )


@pytest.mark.parametrize(
    ("outcome", "expected"),
    [
        ({"answered": False, "talk_seconds": 0, "end_reason": "no_answer"}, "no_answer"),
        ({"answered": True, "talk_seconds": 0, "end_reason": "voicemail"}, "voicemail"),
        ({"answered": False, "end_reason": "busy"}, "busy"),
        ({"answered": False, "end_reason": "failed"}, "failed"),
        ({"answered": True, "talk_seconds": 42, "end_reason": "completed"}, None),
        ({"answered": True, "talk_seconds": 42, "end_reason": "voicemail"}, None),  # a conversation all the same
        ({"answered": True, "talk_seconds": 3, "end_reason": "completed"}, None),
    ],
)
def test_a_calls_outcome_is_classed_for_the_retry_policy_and_a_conversation_never_retried(outcome, expected):
    from scheduled_comms.logic.campaigns.gate import retry_outcome

    found = retry_outcome(outcome)

    assert (found.value if found else None) == expected


def test_the_simulators_outcome_mix_draws_each_outcome_by_its_weight_and_refuses_an_unknown_one():
    import random

    from scheduled_comms_cli.voice_simulator import OutcomeMix

    mix = OutcomeMix.parse("conversation:120=3,no_answer=1")
    rng = random.Random(7)

    drawn = [mix.draw(rng) for _ in range(4000)]

    assert {d for d in drawn} == {("conversation", 120.0), ("no_answer", 0.0)}
    assert 2800 < sum(outcome == "conversation" for outcome, _ in drawn) < 3200
    with pytest.raises(ValueError, match="not an outcome"):
        OutcomeMix.parse("hung_up=1")
