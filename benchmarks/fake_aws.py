"""A fake AWS below botocore: the real dispatcher, adapters and botocore run; AWS's timing is modelled.

It sits on botocore's ``before-send`` event, where moto answers in-process, and wraps moto's answer:

- **latency**: every HTTP attempt waits a delay drawn from ``LATENCIES`` (a lognormal around a median)
  before its answer comes back; the voice provider's HTTP call gets its delay through the local voice
  simulator's ``fault`` hook (``voice_fault``);
- **DynamoDB partitions**: each partition key (of the table and of each index) has token buckets of
  1,000 write and 3,000 read units per second. A request is admitted only if every partition it
  touches can pay for it; otherwise it is undone and answered ``ProvisionedThroughputExceededException``
  as DynamoDB does. Units follow DynamoDB's rules from the items moto held before and after the
  request (``cost_model``'s item sizes and index entries): a write pays ceil(KB) of the larger image on
  the table partition, and on each index partition whose entry it put, deleted or changed;
  a read pays ceil(bytes / 4 KB), halved when eventually consistent;
- **sending quotas**: SES and SNS account quotas (sends per second, one second's burst) answered with
  their throttling errors (``TooManyRequestsException``, ``Throttled``) when exceeded.

moto supplies the data semantics (conditions, indexes, transactions). The CPU the fake and moto spend
is counted per thread (``thread_cpu``), so a measurement can leave it out of the code's own.
Left out: DynamoDB's burst and adaptive capacity (a partition gets exactly its per-second limits),
capacity for calls the tick does not make (scans, batch writes), network failures, and TLS
connection setup (the fake answers before botocore opens a connection).
"""

from __future__ import annotations

import contextlib
import copy
import json
import math
import random
import re
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from benchmarks.cost_model import item_size, write_units

# The median latency of each call, seconds: issue 10's figures. DynamoDB's are its documented
# "single-digit millisecond" reads and writes; SES, SNS, EventBridge and the voice provider are typical
# in-region client-observed medians (AWS publishes no percentiles for them).
MEDIANS = {
    "dynamodb.write": 0.007,
    "dynamodb.read": 0.006,
    "sesv2.SendEmail": 0.045,
    "ses.SendEmail": 0.045,
    "ses.SendRawEmail": 0.045,
    "sns.Publish": 0.060,
    "events.PutEvents": 0.020,
    "voice.call": 0.300,
    "other": 0.020,  # secrets, identities: off the per-row path (cached), an assumption
}
# The spread: lognormal with this sigma of the log (p99 = 3.2 x the median). An assumption: no
# provider publishes its latency distribution; a long right tail of this size is what client-side
# measurements of cloud APIs commonly show.
SIGMA = 0.5
DYNAMODB_WRITES = frozenset({"PutItem", "UpdateItem", "DeleteItem", "TransactWriteItems", "BatchWriteItem"})
PARTITION_WRITE_UNITS = 1000.0  # per second per partition key (DynamoDB's documented limit)
PARTITION_READ_UNITS = 3000.0
# The error each service answers when throttled (its service model's code).
THROTTLE_CODES = {
    "dynamodb": "ProvisionedThroughputExceededException",
    "ses": "TooManyRequestsException",
    "sns": "Throttled",
}
QUOTA_CALLS = {"sesv2.SendEmail": "ses", "ses.SendEmail": "ses", "ses.SendRawEmail": "ses", "sns.Publish": "sns"}


def latency_key(call: str) -> str:
    """``service.Operation`` to the name of its latency in ``MEDIANS``."""
    service, _, operation = call.partition(".")
    if service == "dynamodb":
        return "dynamodb.write" if operation in DYNAMODB_WRITES else "dynamodb.read"
    return call if call in MEDIANS else "other"


class LatencyModel:
    """Seeded lognormal draws: ``scale * median * exp(sigma * N(0, 1))``; thread-safe."""

    def __init__(
        self, seed: int, scale: float = 1.0, medians: dict[str, float] = MEDIANS, sigma: float = SIGMA
    ) -> None:
        self.medians = {name: median * scale for name, median in medians.items()}
        self.sigma = sigma
        self._rng = random.Random(seed)
        self._lock = threading.Lock()

    def draw(self, call: str) -> float:
        with self._lock:
            return self.medians[latency_key(call)] * math.exp(self.sigma * self._rng.gauss(0.0, 1.0))


class TokenBucket:
    """``rate`` tokens a second, holding at most ``capacity`` (one second's worth unless given); starts full."""

    def __init__(self, rate: float, capacity: float | None = None, now: float = 0.0) -> None:
        self.rate = rate
        self.capacity = rate if capacity is None else capacity
        self._tokens = self.capacity
        self._at = now

    def tokens(self, now: float) -> float:
        return min(self.capacity, self._tokens + max(0.0, now - self._at) * self.rate)

    def can_take(self, amount: float, now: float) -> bool:
        # The tolerance keeps a waiter from waking at an instant the clock cannot tell from now.
        return self.tokens(now) + 1e-9 >= min(amount, self.capacity)

    def take(self, amount: float, now: float) -> None:
        self._tokens, self._at = self.tokens(now) - amount, max(now, self._at)

    def try_take(self, amount: float, now: float) -> bool:
        """Take ``amount`` if it is there (an amount above the capacity needs a full bucket)."""
        if not self.can_take(amount, now):
            return False
        self.take(amount, now)
        return True

    def wait(self, amount: float, now: float) -> float:
        """Seconds until ``amount`` (at most the capacity) is there."""
        return max(0.0, (min(amount, self.capacity) - self.tokens(now)) / self.rate)


Partition = tuple[str, str]  # (table or index name, partition key value)
Charges = defaultdict[Partition, float]  # units by partition


class PartitionCapacity:
    """Per-partition write and read buckets; a request is admitted only when all it touches can pay."""

    def __init__(self, write_units: float = PARTITION_WRITE_UNITS, read_units: float = PARTITION_READ_UNITS) -> None:
        self._rates = {"write": write_units, "read": read_units}
        self._buckets: dict[tuple[str, Partition], TokenBucket] = {}

    def admit(self, kind: str, charges: Mapping[Partition, float], now: float) -> bool:
        buckets = []
        for partition, units in charges.items():
            bucket = self._buckets.get((kind, partition))
            if bucket is None:
                bucket = self._buckets[(kind, partition)] = TokenBucket(self._rates[kind], now=now)
            if not bucket.can_take(units, now):
                return False
            buckets.append((bucket, units))
        for bucket, units in buckets:
            bucket.take(units, now)
        return True


def _partition_value(entry: dict[str, Any], key: str) -> str:
    ((_, value),) = entry[key].items()
    return str(value)


def write_charges(shape: Any, table: str, before: dict | None, after: dict | None, factor: int = 1) -> Charges:
    """Write units per partition for one item going from ``before`` to ``after`` (DynamoDB JSON).

    A transaction (``factor`` 2) pays twice on the table, as ``cost_model.Meter`` charges it."""
    charges: Charges = defaultdict(float)
    image = after or before or {}
    charges[(table, _partition_value(image, shape.keys[0]))] += factor * write_units(
        max(item_size(before), item_size(after))
    )
    for index in shape.indexes:
        old, new = index.entry(before, shape.keys), index.entry(after, shape.keys)
        if old is None and new is None:
            continue
        if old is None or new is None or any(old.get(k) != new.get(k) for k in index.keys):
            for entry in (old, new):
                if entry is not None:
                    charges[(index.name, _partition_value(entry, index.keys[0]))] += write_units(item_size(entry))
        elif old != new:
            charges[(index.name, _partition_value(new, index.keys[0]))] += write_units(
                max(item_size(old), item_size(new))
            )
    return charges


def read_units(items: list[dict[str, Any]], consistent: bool) -> float:
    units = max(1, math.ceil(sum(item_size(item) for item in items) / 4096))
    return units if consistent else units / 2


_KEY_EQUALS = re.compile(r"([#\w]+)\s*=\s*(:\w+)")


def _error(request: Any, status: int, headers: dict[str, str], body: bytes) -> Any:
    from botocore.awsrequest import AWSResponse
    from moto.core.botocore_stubber import MockRawResponse

    return AWSResponse(request.url, status, headers, MockRawResponse(body))  # type: ignore[arg-type]


def throttled_answer(call: str, request: Any) -> Any:
    """The error AWS answers when a partition or a sending quota is exceeded."""
    service = call.partition(".")[0]
    if service == "dynamodb":
        code = THROTTLE_CODES["dynamodb"]
        body = {"__type": f"com.amazonaws.dynamodb.v20120810#{code}", "message": "Throughput exceeds the limit"}
        return _error(request, 400, {"x-amzn-ErrorType": code}, json.dumps(body).encode())
    if service in ("sesv2", "ses"):
        headers = {"x-amzn-ErrorType": THROTTLE_CODES["ses"], "Content-Type": "application/json"}
        return _error(request, 429, headers, json.dumps({"message": "Maximum sending rate exceeded."}).encode())
    body_xml = (
        f"<ErrorResponse><Error><Type>Sender</Type><Code>{THROTTLE_CODES['sns']}</Code><Message>Rate exceeded</Message>"
        "</Error><RequestId>fake</RequestId></ErrorResponse>"
    )
    return _error(request, 429, {"Content-Type": "text/xml"}, body_xml.encode())


@dataclass(frozen=True)
class Accepted:
    """A message a provider accepted: the call, the row it was for (when the request names it), when."""

    call: str
    row_id: str | None
    at: float


class FakeAws:
    """Latency, partition capacity and sending quotas around moto's answers (install inside ``mock_aws``)."""

    def __init__(
        self,
        shapes: dict[str, Any],
        latency: LatencyModel,
        quotas: dict[str, float],
        capacity: PartitionCapacity | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.shapes = shapes
        self.latency = latency
        self.capacity = capacity or PartitionCapacity()
        self.quotas = {name: TokenBucket(rate, now=clock()) for name, rate in quotas.items()}
        self.clock = clock
        self.sleep = sleep
        self.calls: Counter[str] = Counter()
        self.throttled: Counter[str] = Counter()
        self.accepted: list[Accepted] = []
        self.charges: list[tuple[str | None, str, Charges]] = []  # (step tag, write|read, units)
        self.cpu_seconds = 0.0
        self._local = threading.local()
        self._lock = threading.Lock()
        self._paused = False

    # -- per-thread bookkeeping -----------------------------------------------------------------------
    def thread_cpu(self) -> float:
        """CPU seconds the fake (and moto inside it) spent in the calling thread so far."""
        return float(getattr(self._local, "cpu", 0.0))

    @contextlib.contextmanager
    def tagged(self, step: str) -> Iterator[None]:
        """Label the DynamoDB charges of the calls this thread makes inside the block."""
        self._local.step = step
        try:
            yield
        finally:
            self._local.step = None

    @contextlib.contextmanager
    def paused(self) -> Iterator[None]:
        """Calls inside the block go straight to moto (seeding, setup)."""
        self._paused = True
        try:
            yield
        finally:
            self._paused = False

    def voice_fault(self, _key: str) -> Any:
        """For ``VoiceProviderSimulator.fault``: the provider answers after a drawn delay."""
        from scheduled_comms_cli.voice_simulator import Fault

        return Fault(delay_seconds=self.latency.draw("voice.call"))

    @property
    def throttled_calls(self) -> int:
        return sum(self.throttled.values())

    # -- the hook -----------------------------------------------------------------------------------
    @contextlib.contextmanager
    def installed(self) -> Iterator[FakeAws]:
        """Answer every botocore call moto would answer, through the fake (inside ``mock_aws``)."""
        from moto.core.botocore_stubber import BotocoreStubber

        moto_answer = BotocoreStubber.__call__
        fake = self

        def answer(stubber: BotocoreStubber, event_name: str, request: Any, **kwargs: Any) -> Any:
            call = event_name.removeprefix("before-send.")
            return fake._answer(call, request, lambda: moto_answer(stubber, event_name, request, **kwargs))

        BotocoreStubber.__call__ = answer  # type: ignore[method-assign,assignment]
        try:
            yield self
        finally:
            BotocoreStubber.__call__ = moto_answer  # type: ignore[method-assign]

    def _answer(self, call: str, request: Any, moto: Callable[[], Any]) -> Any:
        if self._paused:
            return moto()
        started = time.thread_time()
        try:
            if call.startswith("dynamodb."):
                response, admitted = self._dynamodb(call, request, moto)
            else:
                response, admitted = self._quota_checked(call, request, moto)
        finally:
            spent = time.thread_time() - started
            self._local.cpu = self.thread_cpu() + spent
            with self._lock:
                self.cpu_seconds += spent
                self.calls[call] += 1
                if not admitted:
                    self.throttled[call] += 1
        self.sleep(self.latency.draw(call))
        if admitted and call in QUOTA_CALLS and response is not None and response.status_code == 200:
            with self._lock:
                self.accepted.append(Accepted(call, _row_of(call, request), self.clock()))
        return response

    def _quota_checked(self, call: str, request: Any, moto: Callable[[], Any]) -> tuple[Any, bool]:
        bucket = self.quotas.get(QUOTA_CALLS.get(call, ""))
        if bucket is not None:
            with self._lock:
                if not bucket.try_take(1, self.clock()):
                    return throttled_answer(call, request), False
        return moto(), True

    def _dynamodb(self, call: str, request: Any, moto: Callable[[], Any]) -> tuple[Any, bool]:
        from scheduled_comms_local.moto_patches import moto_dynamodb_lock

        operation = call.partition(".")[2]
        params = json.loads(request.body or b"{}")
        with moto_dynamodb_lock():
            backend = _backend(request)
            touched = _touched(backend, operation, params)
            saved = [(table, h, r, copy.deepcopy(_stored(table, h, r))) for table, h, r in touched]
            streams = [(t.stream_shard, len(t.stream_shard.items)) for t, *_ in touched if t.stream_shard]
            response = moto()
            if operation in DYNAMODB_WRITES and touched:
                factor = 2 if operation == "TransactWriteItems" else 1
                kind, charges = "write", self._write_charges(saved, response, factor)
            else:
                kind, charges = "read", self._read_charges(operation, params, response)
            if not charges:
                return response, True
            with self._lock:
                admitted = self.capacity.admit(kind, charges, self.clock())
                if admitted:
                    self.charges.append((getattr(self._local, "step", None), kind, charges))
            if admitted:
                return response, True
            for table, h, r, item in reversed(saved):  # throttled: nothing was written
                _restore(table, h, r, item)
            for shard, length in streams:
                del shard.items[length:]
            return throttled_answer(call, request), False

    def _write_charges(self, saved: list[tuple[Any, Any, Any, Any]], response: Any, factor: int) -> Charges:
        charges: Charges = defaultdict(float)
        for table, h, r, before_item in saved:
            shape = self.shapes.get(table.name)
            if shape is None:
                continue
            before = before_item.to_json()["Attributes"] if before_item is not None else None
            if response.status_code == 200:
                after_item = _stored(table, h, r)
                after = after_item.to_json()["Attributes"] if after_item is not None else None
            else:  # a refused condition still costs the stored item's size
                after = before
            if before or after:
                for partition, units in write_charges(shape, table.name, before, after, factor).items():
                    charges[partition] += units
        return charges

    def _read_charges(self, operation: str, params: dict[str, Any], response: Any) -> Charges:
        charges: Charges = defaultdict(float)
        if response.status_code != 200 or operation not in ("GetItem", "Query"):
            return charges
        body = json.loads(response.content or b"{}")
        consistent = bool(params.get("ConsistentRead"))
        if operation == "GetItem":
            key = params["Key"]
            shape = self.shapes.get(params["TableName"])
            if shape is not None:
                items = [body["Item"]] if body.get("Item") else []
                charges[(params["TableName"], _partition_value(key, shape.keys[0]))] = read_units(items, consistent)
            return charges
        match = _KEY_EQUALS.search(params.get("KeyConditionExpression", ""))
        if match is not None:
            value = params["ExpressionAttributeValues"][match.group(2)]
            partition = (params.get("IndexName") or params["TableName"], str(next(iter(value.values()))))
            charges[partition] = read_units(body.get("Items", []), consistent)
        return charges


def _row_of(call: str, request: Any) -> str | None:
    """The row an SES send is for (its ``communication_id`` tag); SNS and others name none."""
    if not call.startswith("sesv2."):
        return None
    tags = json.loads(request.body or b"{}").get("EmailTags", [])
    return next((tag["Value"] for tag in tags if tag["Name"] == "communication_id"), None)


def _backend(request: Any) -> Any:
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.dynamodb.models import dynamodb_backends

    region = request.url.split("//", 1)[1].split(".")[1]
    return dynamodb_backends[DEFAULT_ACCOUNT_ID][region]


def _touched(backend: Any, operation: str, params: dict[str, Any]) -> list[tuple[Any, Any, Any]]:
    """(moto table, hash key, range key) of each item a write names."""
    from moto.dynamodb.models.dynamo_type import DynamoType

    if operation in ("PutItem", "UpdateItem", "DeleteItem"):
        actions = [params]
    elif operation == "TransactWriteItems":
        actions = [next(iter(entry.values())) for entry in params.get("TransactItems", [])]
    else:
        return []
    touched = []
    for action in actions:
        table = backend.tables.get(action.get("TableName"))
        source = action.get("Key") or action.get("Item") or {}
        if table is None or table.hash_key_attr not in source:
            continue
        range_key = DynamoType(source[table.range_key_attr]) if table.range_key_attr else None
        touched.append((table, DynamoType(source[table.hash_key_attr]), range_key))
    return touched


def _stored(table: Any, hash_key: Any, range_key: Any) -> Any:
    if range_key is None:
        return table.items.get(hash_key)
    return table.items.get(hash_key, {}).get(range_key)


def _restore(table: Any, hash_key: Any, range_key: Any, item: Any) -> None:
    if range_key is None:
        if item is None:
            table.items.pop(hash_key, None)
        else:
            table.items[hash_key] = item
    elif item is None:
        table.items.get(hash_key, {}).pop(range_key, None)
    else:
        table.items[hash_key][range_key] = item
