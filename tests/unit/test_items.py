"""The row codec: what a row becomes as a stored item, and back, in every form an item reaches the code."""

from __future__ import annotations

import base64
import json
from decimal import Decimal
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from scheduled_comms.adapters.dynamodb.items import (
    PAYLOAD_ATTRIBUTE,
    diff_update,
    from_attributes,
    item_to_row,
    row_to_item,
    to_attributes,
)
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


_json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**37), max_value=10**37)
    | st.floats(allow_nan=False, allow_infinity=False, min_value=-1e30, max_value=1e30).filter(
        lambda x: x == 0 or abs(x) > 1e-30
    )
    | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.text(min_size=1, max_size=8), _json_values, max_size=6))
def test_the_attribute_codec_writes_what_boto3s_writes_and_reads_it_back(values):
    from boto3.dynamodb.types import TypeDeserializer, TypeSerializer

    clean = json.loads(json.dumps(values), parse_float=Decimal)
    typed = to_attributes(values)

    assert typed == {name: TypeSerializer().serialize(value) for name, value in clean.items()}
    assert from_attributes(typed) == {
        name: plain(TypeDeserializer().deserialize(value)) for name, value in typed.items()
    }


def plain(value: Any) -> Any:
    """What the rows read: boto3's Decimals as ints when whole, floats otherwise."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value


def test_the_attribute_codec_reads_sets_as_lists():
    item = {"n": {"NS": ["1", "2.5"]}, "s": {"SS": ["a"]}, "b": {"BS": [b"x"]}}

    assert from_attributes(item) == {"n": [1, 2.5], "s": ["a"], "b": [b"x"]}
