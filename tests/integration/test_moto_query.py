"""moto's query of a table's own keys, as the local stack patches it to read the page of one partition: every
page of every key condition, forward and backward, holds exactly what DynamoDB's would."""

from __future__ import annotations

import uuid
from typing import Any

import boto3
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

keys = st.lists(st.text(alphabet="ABC#0123", min_size=1, max_size=4), min_size=1, max_size=25, unique=True)
bounds = st.text(alphabet="ABC#0123", min_size=1, max_size=3)
conditions = st.one_of(
    st.none(),
    st.tuples(st.just("between"), bounds, bounds).map(lambda c: (c[0], *sorted(c[1:]))),
    st.tuples(st.sampled_from(["=", "<", "<=", ">", ">=", "begins_with"]), bounds),
)


def expected(sort_keys: list[str], condition: tuple[Any, ...] | None, forward: bool) -> list[str]:
    def holds(key: str) -> bool:
        if condition is None:
            return True
        match condition:
            case ("between", low, high):
                return low <= key <= high
            case ("begins_with", prefix):
                return key.startswith(prefix)
            case (op, value):
                return {"=": key == value, "<": key < value, "<=": key <= value, ">": key > value, ">=": key >= value}[
                    op
                ]
        raise AssertionError(condition)

    found = sorted(key for key in sort_keys if holds(key))
    return found if forward else found[::-1]


def key_condition(condition: tuple[Any, ...] | None) -> tuple[str, dict[str, Any]]:
    expression, values = "pk = :pk", {}
    match condition:
        case None:
            pass
        case ("between", low, high):
            expression += " AND sk BETWEEN :a AND :b"
            values = {":a": {"S": low}, ":b": {"S": high}}
        case ("begins_with", prefix):
            expression += " AND begins_with(sk, :a)"
            values = {":a": {"S": prefix}}
        case (op, value):
            expression += f" AND sk {op} :a"
            values = {":a": {"S": value}}
    return expression, values


@pytest.fixture(scope="module")
def table(stack):
    return stack.physical_name("CommunicationsTable")


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(sort_keys=keys, others=keys, condition=conditions, limit=st.none() | st.integers(1, 6), forward=st.booleans())
def test_every_page_of_a_partition_holds_what_dynamodb_would(table, sort_keys, others, condition, limit, forward):
    dynamodb = boto3.client("dynamodb")
    mine, theirs = f"QUERY#{uuid.uuid4()}", f"QUERY#{uuid.uuid4()}"
    for partition, names in ((mine, sort_keys), (theirs, others)):  # a neighbour's items are never read
        for name in names:
            dynamodb.put_item(TableName=table, Item={"pk": {"S": partition}, "sk": {"S": name}})
    expression, values = key_condition(condition)
    request: dict[str, Any] = {
        "TableName": table,
        "KeyConditionExpression": expression,
        "ExpressionAttributeValues": {":pk": {"S": mine}, **values},
        "ScanIndexForward": forward,
        **({"Limit": limit} if limit else {}),
    }

    got: list[str] = []
    for _ in range(50):
        page = dynamodb.query(**request)
        assert limit is None or len(page["Items"]) <= limit
        got += [item["sk"]["S"] for item in page["Items"]]
        if "LastEvaluatedKey" not in page:
            break
        request["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    assert got == expected(sort_keys, condition, forward)
