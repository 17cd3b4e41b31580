"""The row codec: what a row becomes as a stored item, and back, in every form an item reaches the code."""

from __future__ import annotations

import base64
import json
from typing import Any

from scheduled_comms.adapters.dynamodb.items import PAYLOAD_ATTRIBUTE, diff_update, item_to_row, row_to_item
from scheduled_comms.models.domain import Delivery, Status

from tests.unit.test_dispatch_logic import make_row

PAYLOAD = {"to_email": "ana@example.com", "subject": "Ola", "html_body": "<p>" + "uma frase, " * 200 + "</p>"}


def as_lambda_delivers(item: dict[str, Any]) -> dict[str, Any]:
    """An item as a stream record's JSON carries it to Lambda: binaries base64-encoded."""
    return json.loads(json.dumps(item, default=lambda raw: base64.b64encode(raw).decode()))


def test_a_row_survives_the_item_it_is_stored_as():
    row = make_row(payload=PAYLOAD, delivery=Delivery.AT_MOST_ONCE)

    assert item_to_row(row_to_item(row, 8)) == row


def test_a_stream_image_with_a_base64_payload_reads_as_the_same_row():
    row = make_row(payload=PAYLOAD)

    assert item_to_row(as_lambda_delivers(row_to_item(row, 8))) == row


def test_the_payload_is_stored_packed_and_smaller_than_its_text():
    item = row_to_item(make_row(payload=PAYLOAD), 8)

    assert "payload" not in item
    assert len(item[PAYLOAD_ATTRIBUTE]["B"]) < len(json.dumps(PAYLOAD)) / 4


def test_keys_carry_the_company_and_id_and_defaults_are_left_out():
    row = make_row(payload=PAYLOAD)
    item = row_to_item(row, 8)

    assert not {"id", "company_id", "respect_business_hours", "delivery", "source"} & set(item)
    assert item["sk"]["S"].endswith(row.id)


def test_an_item_written_before_payloads_were_packed_still_reads():
    row = make_row(payload=PAYLOAD)
    item = row_to_item(row, 8)
    del item[PAYLOAD_ATTRIBUTE]
    item["payload"] = {"M": {name: {"S": value} for name, value in PAYLOAD.items()}}
    item["id"], item["company_id"] = {"S": row.id}, {"S": row.company_id}

    assert item_to_row(item) == row


def test_a_change_that_leaves_the_payload_alone_does_not_rewrite_it():
    row = make_row(payload=PAYLOAD, status=Status.PENDING, attempt_count=0)
    claimed = row.model_copy(update={"status": Status.DISPATCHING, "attempt_count": 1})

    request = diff_update("t", row, claimed, 8)

    assert PAYLOAD_ATTRIBUTE not in request["ExpressionAttributeNames"].values()
    assert set(request["ExpressionAttributeNames"].values()) == {"status", "attempt_count"}
