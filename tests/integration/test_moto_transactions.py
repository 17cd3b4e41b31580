"""moto as the local stack prepares it: a failed transaction leaves every item as it was, as DynamoDB does.

(The preparation backs up only the items a transaction names instead of deep-copying whole tables.)
"""

from __future__ import annotations

import uuid

import boto3
import pytest
from botocore.exceptions import ClientError


def test_a_cancelled_transaction_undoes_its_put_update_and_delete(stack):
    # Given: two items, and a transaction that puts a third, updates one, deletes the other, then fails
    table = stack.physical_name("CommunicationsTable")
    dynamodb = boto3.client("dynamodb")
    pk = {"S": f"CO#{uuid.uuid4()}"}
    dynamodb.put_item(TableName=table, Item={"pk": pk, "sk": {"S": "kept"}, "n": {"N": "1"}})
    dynamodb.put_item(TableName=table, Item={"pk": pk, "sk": {"S": "doomed"}, "n": {"N": "2"}})

    # When
    with pytest.raises(ClientError) as refused:
        dynamodb.transact_write_items(
            TransactItems=[
                {"Put": {"TableName": table, "Item": {"pk": pk, "sk": {"S": "new"}}}},
                {
                    "Update": {
                        "TableName": table,
                        "Key": {"pk": pk, "sk": {"S": "kept"}},
                        "UpdateExpression": "SET n = :n",
                        "ExpressionAttributeValues": {":n": {"N": "99"}},
                    }
                },
                {"Delete": {"TableName": table, "Key": {"pk": pk, "sk": {"S": "doomed"}}}},
                {
                    "ConditionCheck": {
                        "TableName": table,
                        "Key": {"pk": pk, "sk": {"S": "absent"}},
                        "ConditionExpression": "attribute_exists(pk)",
                    }
                },
            ]
        )

    # Then: refused as a cancellation, and the partition holds exactly what it held before
    assert refused.value.response["Error"]["Code"] == "TransactionCanceledException"
    items = dynamodb.query(
        TableName=table, KeyConditionExpression="pk = :pk", ExpressionAttributeValues={":pk": pk}, ConsistentRead=True
    )["Items"]
    assert sorted((item["sk"]["S"], item["n"]["N"]) for item in items) == [("doomed", "2"), ("kept", "1")]


def test_a_committed_transaction_writes_every_item(stack):
    table = stack.physical_name("CommunicationsTable")
    dynamodb = boto3.client("dynamodb")
    pk = {"S": f"CO#{uuid.uuid4()}"}

    dynamodb.transact_write_items(
        TransactItems=[
            {"Put": {"TableName": table, "Item": {"pk": pk, "sk": {"S": "a"}}}},
            {"Put": {"TableName": table, "Item": {"pk": pk, "sk": {"S": "b"}}}},
        ]
    )

    items = dynamodb.query(
        TableName=table, KeyConditionExpression="pk = :pk", ExpressionAttributeValues={":pk": pk}, ConsistentRead=True
    )["Items"]
    assert sorted(item["sk"]["S"] for item in items) == ["a", "b"]
