"""The dispatch queue between the tick and its workers, with the local pump doing Lambda's SQS mapping's
part: a worker that succeeds takes its slice off the queue; one that fails leaves it there, for its
visibility timeout and then the dead-letter queue."""

from __future__ import annotations

import json

import boto3
from scheduled_comms_local.lambda_host import scheduled_event

from tests.integration.conftest import soon


def queue_counts(url: str) -> tuple[int, int]:
    attributes = boto3.client("sqs").get_queue_attributes(
        QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    )["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"]), int(attributes["ApproximateNumberOfMessagesNotVisible"])


def test_a_tick_hands_every_shard_out_and_each_worker_takes_its_slice_off_the_queue(stack, ticker, isolated_tables):
    url = stack.queue_urls["DispatchQueue"]
    before = queue_counts(url)  # slices other tests' crashed workers left, invisible until they go to the DLQ

    run = ticker.run(scheduled_event(soon(), single_pass=True))

    assert run.tick["workers"] == len(run.deliveries) == 1 and run.failed == []
    assert sorted(s for group in run.tick["slices"] for s in group) == list(range(8))
    assert run.summary()["passes"] == 1
    assert queue_counts(url) == before


def test_a_worker_that_fails_leaves_its_slice_on_the_queue(stack, ticker):
    url = stack.queue_urls["DispatchQueue"]
    visible, invisible = queue_counts(url)
    boto3.client("sqs").send_message(QueueUrl=url, MessageBody=json.dumps({"at": "not a time", "shards": [0]}))

    deliveries = ticker.queue.drain()

    assert [type(d.error).__name__ for d in deliveries] == ["ValidationError"]
    # Invisible until its visibility timeout; received again, it goes to the dead-letter queue (maxReceiveCount 1).
    assert queue_counts(url) == (visible, invisible + 1)


def test_the_queue_sends_a_slice_received_again_to_the_dead_letter_queue(stack):
    attributes = boto3.client("sqs").get_queue_attributes(
        QueueUrl=stack.queue_urls["DispatchQueue"], AttributeNames=["RedrivePolicy", "VisibilityTimeout"]
    )["Attributes"]
    policy = json.loads(attributes["RedrivePolicy"])

    assert policy["deadLetterTargetArn"].endswith(":test-DispatchDeadLetterQueue")
    assert int(policy["maxReceiveCount"]) == 1
    assert int(attributes["VisibilityTimeout"]) >= int(stack.function_setting("DispatchWorkerFunction", "Timeout"))
