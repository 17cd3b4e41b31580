"""The lateness benchmark's fake AWS runs the real dispatcher, adapters and botocore end to end."""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Iterator
from datetime import timedelta

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from botocore.retries.standard import ExponentialBackoff
from scheduled_comms import composition
from scheduled_comms.logic.dispatch.report import RowOutcome
from scheduled_comms.models.domain import TERMINAL, Channel, Status, now_utc
from scheduled_comms.settings import get_settings
from scheduled_comms_cli.seeding import seed_due_rows

from benchmarks.cost_model import table_shapes
from benchmarks.fake_aws import FakeAws, LatencyModel, PartitionCapacity
from tests.integration.test_dispatch import register_number, register_voice


@pytest.fixture
def fake(stack) -> Iterator[FakeAws]:
    fake = FakeAws(table_shapes(stack.table_definitions()), LatencyModel(seed=5), {"ses": 1500, "sns": 20})
    with fake.installed():
        yield fake


def test_the_dispatcher_sends_each_row_once_through_the_fake(api, make_company, fresh_simulator, fake):
    company = make_company()
    number_id = register_number(api, company)
    voice_config_id = register_voice(api, company, fresh_simulator)
    fresh_simulator.fault = fake.voice_fault
    with fake.paused():
        ids = seed_due_rows(company.id, number_id, 6, now_utc(), voice_config_id=voice_config_id)
    channels = [Channel.SMS, Channel.EMAIL, Channel.VOICE_CALL] * 2

    report = composition.dispatcher().run(now_utc() + timedelta(seconds=1), lambda: 60, single_pass=True)

    rows = [composition.dispatch_store().get(company.id, row_id) for row_id in ids]
    assert [row.status for row in rows] == [Status.DISPATCHED] * 6
    assert all(row.status in TERMINAL and row.attempt_count == 1 for row in rows)
    emails = {row_id for row_id, channel in zip(ids, channels, strict=True) if channel is Channel.EMAIL}
    sent = Counter(accepted.row_id for accepted in fake.accepted if accepted.call == "sesv2.SendEmail")
    assert sent == dict.fromkeys(emails, 1)
    assert sum(accepted.call == "sns.Publish" for accepted in fake.accepted) == 2
    calls = Counter(call.metadata["communication_id"] for call in fresh_simulator.calls())
    voice = [row_id for row_id, channel in zip(ids, channels, strict=True) if channel is Channel.VOICE_CALL]
    assert [calls[row_id] for row_id in voice] == [1, 1]
    assert report.counts[RowOutcome.DISPATCHED] == 6
    assert fake.calls["dynamodb.UpdateItem"] >= 12  # a claim and a finalize per row
    assert fake.throttled_calls == 0


def test_a_send_over_the_ses_quota_is_throttled_and_the_row_due_again_without_spending_an_attempt(
    make_company, stack, monkeypatch
):
    company = make_company()
    # A quota this small lets one send through and refuses the rest for as long as the test runs.
    fake = FakeAws(table_shapes(stack.table_definitions()), LatencyModel(seed=6, scale=0.1), {"ses": 0.001})
    pause = ExponentialBackoff.delay_amount  # botocore's pauses between retries, cut to a tenth
    monkeypatch.setattr(ExponentialBackoff, "delay_amount", lambda self, context: pause(self, context) * 0.1)
    with fake.installed():
        with fake.paused():
            ids = seed_due_rows(company.id, "", 3, now_utc(), channels=[Channel.EMAIL])

        composition.dispatcher().run(now_utc() + timedelta(seconds=1), lambda: 60, single_pass=True)

    rows = [composition.dispatch_store().get(company.id, row_id) for row_id in ids]
    assert sorted(row.status.value for row in rows) == ["dispatched", "pending", "pending"]
    throttled = [row for row in rows if row.status is Status.PENDING]
    assert all(row.last_error.startswith("TooManyRequestsException") for row in throttled)
    assert all(row.attempt_count == 0 for row in throttled), "nothing was sent: no attempt spent"
    # botocore retried each throttled send (3 attempts in all) before the dispatcher gave the row back, and
    # the pass made the send again as the row came due (seconds later) while it ran
    assert fake.throttled["sesv2.SendEmail"] >= 3 * len(throttled)
    assert fake.throttled["sesv2.SendEmail"] % 3 == 0


def test_a_throttled_write_is_undone_and_answered_as_dynamodb_answers(stack):
    tiny = PartitionCapacity(write_units=1)
    fake = FakeAws(table_shapes(stack.table_definitions()), LatencyModel(seed=7, scale=0.1), {}, capacity=tiny)
    client = boto3.client("dynamodb", config=Config(retries={"mode": "standard", "total_max_attempts": 1}))
    table, pk = get_settings().communications_table, f"CO#{uuid.uuid4()}"
    with fake.installed():
        client.put_item(TableName=table, Item={"pk": {"S": pk}, "sk": {"S": "one"}})
        with pytest.raises(ClientError) as refused:
            client.put_item(TableName=table, Item={"pk": {"S": pk}, "sk": {"S": "two"}})

    assert refused.value.response["Error"]["Code"] == "ProvisionedThroughputExceededException"
    assert "Item" in client.get_item(TableName=table, Key={"pk": {"S": pk}, "sk": {"S": "one"}})
    assert "Item" not in client.get_item(TableName=table, Key={"pk": {"S": pk}, "sk": {"S": "two"}})
    assert fake.throttled == {"dynamodb.PutItem": 1}
