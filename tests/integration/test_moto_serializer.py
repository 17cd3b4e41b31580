"""moto's DynamoDB responses as the local stack prepares them: attribute values answered as they are
say exactly what moto's own response serializer says, for every kind of value, binary included, and
its answers are made plain exactly as moto's own ``dynamo_to_dict`` makes them."""

from __future__ import annotations

import base64
import json
import uuid
from datetime import UTC
from typing import Any

import boto3
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from moto.core.serialize import BaseJSONSerializer, XFormedAttributePicker, get_serializer_class
from moto.core.utils import get_service_model
from moto.dynamodb.models.dynamo_type import DynamoType, Item
from moto.dynamodb.models.utilities import dynamo_to_dict
from scheduled_comms_local.moto_patches import dynamo_to_plain, is_plain_attribute_value

numbers = st.integers(-(10**30), 10**30).map(str) | st.decimals(allow_nan=False, allow_infinity=False).map(str)
scalars = (
    st.builds(lambda v: {"S": v}, st.text())
    | st.builds(lambda v: {"N": v}, numbers)
    # Binary as moto holds it: bytes, or the base64 text it was sent as.
    | st.builds(lambda v: {"B": v}, st.binary() | st.binary(max_size=8).map(lambda b: base64.b64encode(b).decode()))
    | st.builds(lambda v: {"BOOL": v}, st.booleans())
    | st.builds(lambda v: {"NULL": v}, st.booleans())
    | st.builds(lambda v: {"SS": v}, st.lists(st.text(), max_size=3))
    | st.builds(lambda v: {"NS": v}, st.lists(numbers, max_size=3))
    | st.builds(lambda v: {"BS": v}, st.lists(st.binary(), max_size=3))
)
# Names of one character or more, as DynamoDB requires (moto's own serializer drops a map's "" key).
attribute_values = st.recursive(
    scalars,
    lambda inner: (
        st.builds(lambda v: {"M": v}, st.dictionaries(st.text(min_size=1, max_size=5), inner, max_size=3))
        | st.builds(lambda v: {"L": v}, st.lists(inner, max_size=3))
    ),
    max_leaves=12,
)
items = st.dictionaries(st.text(min_size=1, max_size=8), attribute_values, min_size=1, max_size=6)


def serialize(service: str, operation: str, result: dict[str, Any]) -> str:
    model = get_service_model(service)
    serializer = get_serializer_class(service, model.protocol)(
        operation_model=model.operation_model(operation), pretty_print=False, value_picker=XFormedAttributePicker()
    )
    return str(serializer.serialize(result)["body"])


@settings(max_examples=100, deadline=None)
@given(item=items, more=st.lists(items, max_size=2))
def test_items_are_answered_exactly_as_motos_serializer_answers_them(stack, item, more):
    results = {
        ("dynamodb", "GetItem"): {"Item": item},
        ("dynamodb", "Query"): {"Items": [item, *more], "Count": 1 + len(more), "ScannedCount": 1 + len(more)},
        ("dynamodb", "TransactGetItems"): {"Responses": [{"Item": i} for i in (item, *more)]},
        ("dynamodbstreams", "GetRecords"): {"Records": [{"dynamodb": {"NewImage": item, "Keys": item}}]},
    }
    prepared = {key: serialize(*key, result) for key, result in results.items()}

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(
            BaseJSONSerializer, "_serialize_type_structure", BaseJSONSerializer._serialize_type_structure.__wrapped__
        )
        own = {key: serialize(*key, result) for key, result in results.items()}

    assert prepared == own


answers = st.recursive(
    st.builds(DynamoType, attribute_values)
    | st.builds(lambda attrs: Item(DynamoType({"S": "h"}), DynamoType({"S": "r"}), attrs), items)
    | st.datetimes(timezones=st.just(UTC))
    | st.text()
    | st.integers()
    | st.none(),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=10,
)


@settings(max_examples=200, deadline=None)
@given(answer=answers)
def test_answers_are_made_plain_exactly_as_motos_dynamo_to_dict_makes_them(answer):
    assert dynamo_to_plain(answer) == dynamo_to_dict(answer)


def test_stored_base64_binary_is_decoded_as_moto_decodes_it():
    stored = DynamoType({"M": {"b": {"B": base64.b64encode(b"\x00\xff").decode()}, "bs": {"BS": [b"x", "eQ=="]}}})

    assert (
        dynamo_to_plain(stored)
        == dynamo_to_dict(stored)
        == {"M": {"b": {"B": b"\x00\xff"}, "bs": {"BS": [b"x", b"y"]}}}
    )


@pytest.mark.parametrize(
    ("value", "plain"),
    [
        ({"S": "x"}, True),
        ({"M": {"a": {"L": [{"N": "1"}, {"NULL": True}, {"SS": ["a"]}]}}}, True),
        ({"B": "eA=="}, False),
        ({"M": {"a": {"BS": [b"x"]}}}, False),
        ({"S": "x", "N": "1"}, False),
        ({"s": "x"}, False),
        ({"N": 1}, False),
    ],
)
def test_only_plain_values_skip_the_serializer(value, plain):
    assert is_plain_attribute_value(value) is plain


def test_an_item_of_every_kind_round_trips_through_boto3(isolated_tables):
    # Given: an item holding every kind of attribute value, nested (in a table of its own: other tests
    # read the shared table as JSON, which binary values are not)
    table = isolated_tables.physical_name("CommunicationsTable")
    dynamodb = boto3.client("dynamodb")
    item = {
        "pk": {"S": f"CO#{uuid.uuid4()}"},
        "sk": {"S": "every-kind"},
        "s": {"S": "héllo"},
        "n": {"N": "-12.5"},
        "b": {"B": b"\x00\xffbinary"},
        "t": {"BOOL": False},
        "z": {"NULL": True},
        "ss": {"SS": ["a", "b"]},
        "ns": {"NS": ["1", "2"]},
        "bs": {"BS": [b"x", b"y"]},
        "m": {"M": {"inner": {"L": [{"S": "x"}, {"M": {"deep": {"N": "3"}}}, {"B": b"\x01"}]}}},
    }
    dynamodb.put_item(TableName=table, Item=item)

    # When
    got = dynamodb.get_item(TableName=table, Key={"pk": item["pk"], "sk": item["sk"]}, ConsistentRead=True)["Item"]
    listed = dynamodb.query(
        TableName=table,
        KeyConditionExpression="pk = :pk",
        ExpressionAttributeValues={":pk": item["pk"]},
    )["Items"]

    # Then
    assert json.dumps(got, sort_keys=True, default=repr) == json.dumps(item, sort_keys=True, default=repr)
    assert listed == [got]
