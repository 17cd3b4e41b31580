"""Lambda's part for SQS, locally: the event source mapping of a queue consumer (the dispatch workers).

It receives the queue's messages (SQS's own API, through AWS_ENDPOINT_URL) and invokes the consumer
through the FunctionHost with the event Lambda would deliver, keeping Lambda's rules: batches of the
mapping's ``BatchSize``, at most ``MaximumConcurrency`` invocations at once, a message deleted when its
invocation succeeds (or is not among its ``batchItemFailures``), and left to the queue otherwise, to
come back after its visibility timeout and go to the dead-letter queue by the queue's redrive policy.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, TypeVar

from scheduled_comms_local.lambda_host import FunctionHost
from scheduled_comms_local.template import QueueConsumer, Stack

DEFAULT_CONCURRENCY = 1000  # Lambda's account limit, where the mapping sets no maximum
Result = TypeVar("Result")


@dataclass
class Delivery:
    """One invocation: the function's answer, or what it raised (the process dying, say)."""

    messages: int
    result: Any = None
    error: BaseException | None = None
    seconds: float = 0.0  # the invocation's wall time (what Lambda bills)


def lambda_record(message: dict[str, Any], queue_arn: str, region: str) -> dict[str, Any]:
    """A received message as Lambda hands it to the function."""
    attributes = message.get("Attributes", {})
    return {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message["Body"],
        "attributes": {
            "ApproximateReceiveCount": attributes.get("ApproximateReceiveCount", "1"),
            "SentTimestamp": attributes["SentTimestamp"],
            "SenderId": attributes.get("SenderId", "local"),
            "ApproximateFirstReceiveTimestamp": attributes.get("ApproximateFirstReceiveTimestamp", "0"),
        },
        "messageAttributes": {},
        "md5OfBody": message.get("MD5OfBody") or hashlib.md5(message["Body"].encode()).hexdigest(),
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": region,
    }


class QueuePump:
    """One queue consumer's event source mapping; ``drain`` delivers every message visible until none is."""

    def __init__(self, stack: Stack, host: FunctionHost, consumer: QueueConsumer | None = None) -> None:
        self._stack = stack
        self._host = host
        self.consumer = consumer or stack.queue_consumers()[0]
        self._sqs: Any = None
        concurrency = self.consumer.maximum_concurrency or DEFAULT_CONCURRENCY
        self._slots = threading.Semaphore(concurrency)
        self._pool = ThreadPoolExecutor(max_workers=min(concurrency, 64), thread_name_prefix="queue-pump")
        self._receiving = threading.RLock()
        self.invocations = 0
        # SQS requests that moved a message (receives that took some, deletes): what a message costs in SQS.
        self.requests: Counter[str] = Counter()
        self._count_lock = threading.Lock()

    def _client(self) -> Any:
        if self._sqs is None:
            import boto3

            self._sqs = boto3.client("sqs")
        return self._sqs

    @property
    def queue_url(self) -> str:
        return self._stack.queue_urls[self.consumer.queue]

    def drain(self) -> list[Delivery]:
        """Receive and deliver batches, each invocation in a thread of its own (up to the mapping's maximum
        concurrency), until the queue has nothing visible; returns when every invocation has ended."""
        return self.deliver(lambda: None)[1]

    def poll(self) -> list[Delivery]:
        """``drain``, unless another drain is receiving (its messages are its own): what a poller calls."""
        if not self._receiving.acquire(blocking=False):
            return []
        try:
            futures = self._receive_all()
        finally:
            self._receiving.release()
        return [future.result() for future in futures]

    def deliver(self, produce: Callable[[], Result]) -> tuple[Result, list[Delivery]]:
        """Call ``produce`` (what queues the messages, a tick say), then drain: no other drain of this pump
        receives in between, so what ``produce`` queued is delivered here and counted here."""
        with self._receiving:
            produced = produce()
            futures = self._receive_all()
        return produced, [future.result() for future in futures]

    def _receive_all(self) -> list[Future[Delivery]]:
        sqs = self._client()
        arn = self._stack.resolve({"Fn::GetAtt": [self.consumer.queue, "Arn"]})
        futures: list[Future[Delivery]] = []
        size = self.consumer.batch_size
        while True:
            messages = sqs.receive_message(
                QueueUrl=self.queue_url, MaxNumberOfMessages=min(10, size), AttributeNames=["All"]
            ).get("Messages", [])
            if not messages:
                return futures
            with self._count_lock:
                self.requests["ReceiveMessage"] += 1
            for start in range(0, len(messages), size):
                records = [lambda_record(m, arn, self._stack.region) for m in messages[start : start + size]]
                self._slots.acquire()  # the mapping's maximum concurrency: a slot frees when an invocation ends
                futures.append(self._pool.submit(self._deliver, records))

    def _deliver(self, records: list[dict[str, Any]]) -> Delivery:
        try:
            with self._count_lock:
                self.invocations += 1
            started = time.perf_counter()
            try:
                result = self._host.invoke(self.consumer.function, {"Records": records})
            except BaseException as exc:  # the invocation failed: its messages stay, as Lambda leaves them
                return Delivery(len(records), error=exc, seconds=time.perf_counter() - started)
            seconds = time.perf_counter() - started
            failed = set()
            if self.consumer.report_item_failures and isinstance(result, dict):
                failed = {f.get("itemIdentifier") for f in result.get("batchItemFailures") or []}
            done = [r for r in records if r["messageId"] not in failed]
            for start in range(0, len(done), 10):
                with self._count_lock:
                    self.requests["DeleteMessageBatch"] += 1
                self._client().delete_message_batch(
                    QueueUrl=self.queue_url,
                    Entries=[
                        {"Id": str(n), "ReceiptHandle": r["receiptHandle"]}
                        for n, r in enumerate(done[start : start + 10])
                    ],
                )
            return Delivery(len(records), result=result, seconds=seconds)
        finally:
            self._slots.release()


@dataclass
class TickRun:
    """A tick as it runs on AWS: the tick's own answer, and each dispatch worker's its queue delivered."""

    tick: dict[str, Any]
    deliveries: list[Delivery]

    @property
    def failed(self) -> list[Delivery]:
        return [d for d in self.deliveries if d.error is not None]

    def summary(self) -> dict[str, Any]:
        """The workers' outcomes added up, with the tick's counts (rows it saw coming due, workers)."""
        from scheduled_comms.logic.dispatch.report import combined

        done = [d.result for d in self.deliveries if d.error is None and isinstance(d.result, dict)]
        return {**self.tick, **combined(done), "failed_workers": len(self.failed)}


def run_tick(host: FunctionHost, pump: QueuePump, event: dict[str, Any]) -> TickRun:
    """Invoke the tick with ``event``, then deliver the slices it queued to the dispatch workers."""
    answer, deliveries = pump.deliver(lambda: host.invoke("TickFunction", event))
    return TickRun(dict(answer), deliveries)
