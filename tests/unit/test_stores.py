"""Store behaviour that moto cannot show: DynamoDB's transaction conflicts (a create holding an Idempotency-Key is
one transaction), and page budgets."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from botocore.exceptions import ClientError
from scheduled_comms.adapters.dynamodb.communications import DynamoCommunicationStore
from scheduled_comms.errors import Conflict, InsufficientCredits
from scheduled_comms.logic.communications import MAX_PAGE_BYTES, _within_response_budget
from scheduled_comms.models.domain import Channel, Communication, Created, IdempotencyClaim, Page, Status

NOW = datetime(2026, 11, 23, 12, tzinfo=UTC)
KEY = IdempotencyClaim("key", "sha", NOW + timedelta(days=1))


def row(html: str = "x", row_id: str = "01a209ba-22c7-7214-ac0f-bf949cf72d96") -> Communication:
    return Communication(
        id=row_id,
        company_id="c",
        channel=Channel.EMAIL,
        status=Status.PENDING,
        scheduled_for=NOW,
        payload={"to_email": "a@example.com", "subject": "s", "html_body": html},
        max_attempts=3,
        created_at=NOW,
        updated_at=NOW,
    )


def cancelled(*reasons: str) -> ClientError:
    return ClientError(
        {
            "Error": {"Code": "TransactionCanceledException", "Message": "cancelled"},
            "CancellationReasons": [{"Code": code} for code in reasons],
        },
        "TransactWriteItems",
    )


class StubClient:
    def __init__(self, failures: list[ClientError]) -> None:
        self.failures = failures
        self.calls = 0

    def transact_write_items(self, **_: object) -> None:
        self.calls += 1
        if self.failures:
            raise self.failures.pop(0)

    def get_item(self, **_: object) -> dict:
        return {"Item": {"credits": {"N": "7"}}}


def test_transaction_conflicts_are_retried():
    client = StubClient([cancelled("None", "TransactionConflict"), cancelled("TransactionConflict", "None")])

    # The balance read beside the write saw 7 before this create's spend.
    assert DynamoCommunicationStore("t", 4, client=client).create(row(), KEY) == Created(credits_remaining=6)
    assert client.calls == 3


def test_persistent_conflict_is_a_retryable_409_not_a_500():
    client = StubClient([cancelled("TransactionConflict", "None")] * 10)

    with pytest.raises(Conflict):
        DynamoCommunicationStore("t", 4, client=client).create(row(), KEY)
    assert client.calls == 4


def test_failed_credit_condition_is_insufficient_credits():
    client = StubClient([cancelled("ConditionalCheckFailed", "None", "None")])

    with pytest.raises(InsufficientCredits):
        DynamoCommunicationStore("t", 4, client=client).create(row(), KEY)


def test_pages_stop_before_the_response_limit():
    big = "é" * 90_000
    rows = [row(big, f"01a209ba-22c7-7214-ac0f-{i:012d}") for i in range(100)]

    answered, next_after_id = _within_response_budget(Page(items=rows, next_after_id=None), "Europe/Paris")

    assert 0 < len(answered) < 100
    assert next_after_id == answered[-1].id
    assert sum(len(r.model_dump_json()) for r in answered) <= MAX_PAGE_BYTES + len(answered[0].model_dump_json())


def test_a_balance_read_that_saw_this_create_s_spend_is_the_balance():
    client = StubClient([])
    client.get_item = lambda **_: {"Item": {"credits": {"N": "7"}, "last_spent_by": {"S": row().id}}}  # type: ignore[method-assign]

    assert DynamoCommunicationStore("t", 4, client=client).create(row(), KEY) == Created(credits_remaining=7)
