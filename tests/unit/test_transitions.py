"""Which stream records become events: the logic, the template's filter criteria, and that they agree."""

from __future__ import annotations

from itertools import product
from typing import Any

import pytest
from scheduled_comms.adapters.dynamodb.items import row_key, row_to_item
from scheduled_comms.adapters.stream_records import row_change
from scheduled_comms.logic.transitions import EventNotPublished, RowChange, publish_change, transition_to_publish
from scheduled_comms.models.domain import TERMINAL, Communication, Status
from scheduled_comms_cli.streams import matches
from scheduled_comms_local.template import Stack

from tests.unit.test_dispatch_logic import make_row


def stream_record(old: Communication | None, new: Communication | None) -> dict[str, Any]:
    row = new or old
    assert row is not None
    images: dict[str, Any] = {"Keys": row_key(row.company_id, row.id)}
    if old is not None:
        images["OldImage"] = row_to_item(old, 8)
    if new is not None:
        images["NewImage"] = row_to_item(new, 8)
    name = "INSERT" if old is None else "REMOVE" if new is None else "MODIFY"
    return {"eventName": name, "eventSource": "aws:dynamodb", "dynamodb": images}


class Bus:
    def __init__(self, refuse: int = 0) -> None:
        self.refuse = refuse
        self.published: list[Communication] = []

    def publish(self, rows: Any) -> int:
        rows = list(rows)
        if self.refuse:
            return len(rows)
        self.published += rows
        return 0


def test_a_move_into_a_terminal_status_is_published_with_the_new_image():
    old = make_row(status=Status.DISPATCHING)
    new = old.model_copy(update={"status": Status.DISPATCHED, "dispatched_external_id": "m-1"})
    bus = Bus()

    assert publish_change(RowChange(old, new), bus) == new
    assert bus.published == [new]


@pytest.mark.parametrize(
    ("old", "new"),
    [
        (None, Status.PENDING),  # created
        (Status.PENDING, Status.DISPATCHING),  # claimed
        (Status.DISPATCHING, Status.DISPATCHING),  # taken over
        (Status.DISPATCHING, Status.PENDING),  # retried or held
        (Status.DISPATCHED, Status.DISPATCHED),  # a call outcome recorded on a sent row
        (Status.CANCELLED, None),  # removed
    ],
)
def test_other_writes_publish_nothing(old, new):
    bus = Bus()
    change = RowChange(make_row(status=old) if old else None, make_row(status=new) if new else None)

    assert publish_change(change, bus) is None
    assert bus.published == []


def test_a_refused_event_raises_so_the_record_is_delivered_again():
    old = make_row(status=Status.PENDING, attempt_count=0)
    with pytest.raises(EventNotPublished):
        publish_change(RowChange(old, old.model_copy(update={"status": Status.CANCELLED})), Bus(refuse=1))


def test_stream_records_of_other_items_are_not_row_changes():
    record = {"eventName": "MODIFY", "dynamodb": {"Keys": {"pk": {"S": "CO#c"}, "sk": {"S": "#COMPANY"}}}}
    assert row_change(record) is None


def test_a_stream_record_reads_back_both_images():
    old = make_row(status=Status.PENDING, attempt_count=0)
    new = old.model_copy(update={"status": Status.CANCELLED})

    assert row_change(stream_record(old, new)) == RowChange(old, new)


STATUSES = [None, *Status]


@pytest.mark.parametrize(("old", "new"), [pair for pair in product(STATUSES, STATUSES) if pair != (None, None)])
def test_the_templates_filter_lets_through_exactly_what_the_logic_publishes(old, new):
    old_row = make_row(status=old) if old else None
    new_row = make_row(status=new) if new else None
    if old_row and new_row:
        new_row = new_row.model_copy(update={"id": old_row.id})
    patterns = Stack("unit").stream_consumers()[0].filter_patterns

    let_through = any(matches(pattern, stream_record(old_row, new_row)) for pattern in patterns)

    published = transition_to_publish(RowChange(old_row, new_row)) is not None
    assert let_through == published
    assert published == (new in TERMINAL and old not in TERMINAL)


def test_filter_rules_the_local_stack_does_not_know_are_refused():
    with pytest.raises(ValueError, match="not supported"):
        matches({"eventName": [{"suffix": "IFY"}]}, {"eventName": "MODIFY"})


def campaign_record(old_status: str, new_status: str, wound_down: bool = False) -> dict[str, Any]:
    from datetime import UTC, datetime

    from scheduled_comms.adapters.dynamodb.items import campaign_to_item
    from scheduled_comms.models.campaigns import Campaign, CampaignStatus, DeliverySettings

    at = datetime(2027, 3, 1, tzinfo=UTC)
    campaign = Campaign(id="c1", company_id="co", name="n", settings=DeliverySettings(), created_at=at, updated_at=at)
    old = campaign.model_copy(update={"status": CampaignStatus(old_status)})
    new = campaign.model_copy(
        update={"status": CampaignStatus(new_status), "wound_down_at": at if wound_down else None}
    )
    item = campaign_to_item(new)
    return {
        "eventName": "MODIFY",
        "dynamodb": {
            "Keys": {"pk": item["pk"], "sk": item["sk"]},
            "OldImage": campaign_to_item(old),
            "NewImage": item,
        },
    }


def test_the_campaign_functions_filter_lets_through_plans_and_wind_downs_not_yet_done():
    patterns = next(c for c in Stack("unit").stream_consumers() if c.function == "PlanBatchCallsFunction")
    let_through = lambda record: any(matches(p, record) for p in patterns.filter_patterns)  # noqa: E731

    assert let_through(campaign_record("scheduled", "scheduling"))
    assert let_through(campaign_record("active", "cancelled"))
    assert not let_through(campaign_record("cancelled", "cancelled", wound_down=True))
    assert not let_through(campaign_record("draft", "scheduled"))
    pending = make_row(status=Status.PENDING)
    assert not let_through(stream_record(pending, pending.model_copy(update={"status": Status.CANCELLED})))
