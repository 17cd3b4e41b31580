"""Lambda's part for DynamoDB streams, locally: the event source mapping of a stream consumer.

It reads the table's stream (DynamoDB Streams' own API: describe_stream, get_shard_iterator,
get_records) and invokes the consumer through the FunctionHost with the event Lambda would deliver,
keeping Lambda's rules: the template's filter criteria, batches in stream order, a checkpoint per
shard, partial batch failures (``batchItemFailures``: the batch is retried from the first failed
record), bisection of a failing batch, bounded retries and the on-failure destination.
"""

from __future__ import annotations

import json
import threading
import uuid
from datetime import UTC, datetime
from typing import Any

from scheduled_comms_local.lambda_host import FunctionHost
from scheduled_comms_local.template import Stack, StreamConsumer

# A mapping that retries until the record expires (MaximumRetryAttempts -1) still gives up locally.
LOCAL_RETRY_CAP = 100


def matches(pattern: dict[str, Any], value: Any) -> bool:
    """Whether ``value`` matches a Lambda filter pattern (the subset the template uses).

    Keys nest; a list holds alternatives: literal values, ``{"anything-but": [...]}``, ``{"exists": bool}`` or
    ``{"prefix": str}``.
    """
    for key, wanted in pattern.items():
        present = isinstance(value, dict) and key in value
        actual = value.get(key) if present else None
        if isinstance(wanted, dict):
            # An absent key matches as an empty object does: only ``{"exists": false}`` below it can match.
            if not matches(wanted, actual if present else {}):
                return False
        elif not any(_matches_rule(rule, actual, present) for rule in wanted):
            return False
    return True


def _matches_rule(rule: Any, actual: Any, present: bool) -> bool:
    if isinstance(rule, dict):
        if "anything-but" in rule:
            excluded = rule["anything-but"]
            return present and actual not in (excluded if isinstance(excluded, list) else [excluded])
        if "exists" in rule:
            return present is bool(rule["exists"])
        if "prefix" in rule:
            return present and isinstance(actual, str) and actual.startswith(rule["prefix"])
        raise ValueError(f"filter rule {rule} is not supported by the local stack")
    return present and actual == rule


def lambda_record(record: dict[str, Any], stream_arn: str, region: str) -> dict[str, Any]:
    """A stream record as Lambda hands it to the function (times as epoch seconds, the stream's ARN)."""
    images = dict(record["dynamodb"])
    created = images.get("ApproximateCreationDateTime")
    if isinstance(created, datetime):
        images["ApproximateCreationDateTime"] = int(created.timestamp())
    return {
        "eventID": record["eventID"],
        "eventName": record["eventName"],
        "eventVersion": "1.1",
        "eventSource": "aws:dynamodb",
        "awsRegion": record.get("awsRegion") or region,
        "dynamodb": images,
        "eventSourceARN": stream_arn,
    }


class StreamPump:
    """One stream consumer's event source mapping; ``drain`` delivers everything written so far."""

    def __init__(self, stack: Stack, host: FunctionHost, consumer: StreamConsumer | None = None) -> None:
        self._stack = stack
        self._host = host
        self.consumer = consumer or stack.stream_consumers()[0]
        self._checkpoints: dict[str, str] = {}  # shard id -> sequence number of the last record handled
        self._lock = threading.Lock()
        self.invocations = 0
        self.records_delivered = 0
        self.batches_given_up = 0
        self._client_pair: tuple[Any, Any] | None = None
        self._stream_arn: str | None = None

    def _clients(self) -> tuple[Any, Any]:
        """Made at the first drain, then kept: making a client costs more than the calls of a poll."""
        if self._client_pair is None:
            import boto3

            self._client_pair = boto3.client("dynamodb"), boto3.client("dynamodbstreams")
        return self._client_pair

    def stream_arn(self) -> str:
        """The table's stream, looked up once: it lasts as long as the table, which outlives the mapping."""
        if self._stream_arn is None:
            dynamodb, _ = self._clients()
            table = self._stack.physical_name(self.consumer.table)
            self._stream_arn = str(dynamodb.describe_table(TableName=table)["Table"]["LatestStreamArn"])
        return self._stream_arn

    def drain(self) -> int:
        """Read every shard to its end, delivering matching records in batches; returns the records delivered."""
        with self._lock:
            _, streams = self._clients()
            arn = self.stream_arn()
            delivered = 0
            for shard in streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"]:
                delivered += self._drain_shard(streams, arn, shard["ShardId"])
            return delivered

    def _iterator(self, streams: Any, arn: str, shard_id: str) -> str:
        checkpoint = self._checkpoints.get(shard_id)
        position: dict[str, Any] = (
            {"ShardIteratorType": "AFTER_SEQUENCE_NUMBER", "SequenceNumber": checkpoint}
            if checkpoint
            else {"ShardIteratorType": self.consumer.starting_position}
        )
        return str(streams.get_shard_iterator(StreamArn=arn, ShardId=shard_id, **position)["ShardIterator"])

    def _drain_shard(self, streams: Any, arn: str, shard_id: str) -> int:
        delivered = 0
        while True:
            # A fresh iterator from the checkpoint each time: moto may replace a table's shard object.
            iterator = self._iterator(streams, arn, shard_id)
            records = streams.get_records(ShardIterator=iterator, Limit=self.consumer.batch_size)["Records"]
            if not records:
                return delivered
            batch = [lambda_record(r, arn, self._stack.region) for r in records]
            wanted = [r for r in batch if self._wanted(r)]
            if wanted:
                self._deliver(wanted, shard_id, arn)
                delivered += len(wanted)
            self._checkpoints[shard_id] = records[-1]["dynamodb"]["SequenceNumber"]

    def _wanted(self, record: dict[str, Any]) -> bool:
        patterns = self.consumer.filter_patterns
        return not patterns or any(matches(pattern, record) for pattern in patterns)

    def _deliver(self, batch: list[dict[str, Any]], shard_id: str, arn: str, retries: int = 0) -> None:
        unfinished = self._invoke(batch)
        if not unfinished:
            return
        limit = self.consumer.maximum_retry_attempts
        if retries >= (LOCAL_RETRY_CAP if limit < 0 else limit):
            self._give_up(unfinished, shard_id, arn, retries + 1)
            return
        if self.consumer.bisect_on_error and len(unfinished) > 1:
            half = len(unfinished) // 2
            self._deliver(unfinished[:half], shard_id, arn, retries + 1)
            self._deliver(unfinished[half:], shard_id, arn, retries + 1)
        else:
            self._deliver(unfinished, shard_id, arn, retries + 1)

    def _invoke(self, batch: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Invoke the consumer; returns the records to deliver again (from the first failure on)."""
        self.invocations += 1
        try:
            response = self._host.invoke(self.consumer.function, {"Records": batch})
        except Exception:
            return batch
        self.records_delivered += len(batch)
        failures = (response or {}).get("batchItemFailures") if self.consumer.report_item_failures else None
        if not failures:
            return []
        sequence_numbers = [record["dynamodb"]["SequenceNumber"] for record in batch]
        failed = {failure.get("itemIdentifier") for failure in failures}
        if not failed <= set(sequence_numbers):
            return batch  # Lambda treats an unknown identifier as the whole batch failing
        first = min(sequence_numbers.index(number) for number in failed)
        return batch[first:]

    def _give_up(self, batch: list[dict[str, Any]], shard_id: str, arn: str, attempts: int) -> None:
        """Send the batch's description (not its records, as Lambda does) to the on-failure queue."""
        self.batches_given_up += 1
        if self.consumer.on_failure_queue is None:
            return
        import boto3

        sqs = boto3.client("sqs")
        queue_url = (
            self._stack.queue_urls.get(self.consumer.on_failure_queue)
            or sqs.create_queue(QueueName=self._stack.physical_name(self.consumer.on_failure_queue))["QueueUrl"]
        )
        now = datetime.now(UTC).isoformat()
        message = {
            "requestContext": {
                "requestId": str(uuid.uuid4()),
                "functionArn": self._stack.resolve({"Fn::GetAtt": [self.consumer.function, "Arn"]}),
                "condition": "RetryAttemptsExhausted",
                "approximateInvokeCount": attempts,
            },
            "version": "1.0",
            "timestamp": now,
            "DDBStreamBatchInfo": {
                "shardId": shard_id,
                "startSequenceNumber": batch[0]["dynamodb"]["SequenceNumber"],
                "endSequenceNumber": batch[-1]["dynamodb"]["SequenceNumber"],
                "approximateArrivalOfFirstRecord": now,
                "approximateArrivalOfLastRecord": now,
                "batchSize": len(batch),
                "streamArn": arn,
            },
        }
        sqs.send_message(QueueUrl=queue_url, MessageBody=json.dumps(message))
