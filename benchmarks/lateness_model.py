"""Lateness and throughput of dispatch: real runs against a fake AWS, and a discrete-event model of N workers.

1. **Measure.** The real dispatcher (``Dispatcher``, the DynamoDB store, the SES sender, botocore) runs
   in threads against ``fake_aws.FakeAws`` (moto's data, AWS's latencies, partition capacity and sending
   quotas). Each store and sender call is timed with ``time.thread_time``: its CPU, less the CPU the
   fake and moto spent inside it, is the code's own. What is left of the process's CPU
   (``time.process_time``) over the run, less the fake's, is the dispatcher's per-row overhead. The
   DynamoDB units each step charged, partition by partition, are recorded as templates.
2. **Model.** ``Model`` replays the dispatcher on a simulated clock: ticks every minute, each one
   polling its shards, claiming rows with ``concurrency`` in flight, sending and finalizing; every call
   takes its measured CPU on the worker's one CPU (the GIL, at the Lambda's share of a vCPU), then a
   latency drawn as the fake draws it; throttled calls are retried as botocore retries them (its
   attempts, backoff and retry quota), then as the dispatcher retries them (the row's backoff).
3. **Check.** The model's predictions for real runs with 1 and 2 workers (threads of one process,
   sharing its CPU, as the real runs do) are set against what those runs measured.
4. **Scenarios.** steady, burst_1500 and burst_14, with the design as the code and template set it
   (``Design.today``): every minute the tick counts the rows coming due in each shard and hands the
   shards, in slices (``plan_slices``, the code's own), to as many workers as the rows need; each worker
   polls its slice until the next tick; sends are paced on schedules every worker shares (the shared
   limiter, slots reserved a batch at a time with one DynamoDB write).

``Design`` holds what dispatch is made of (workers, read-ahead, pacing per provider and company, the
connection pool), so another design is another ``Design``, not another model.
"""

from __future__ import annotations

import contextlib
import heapq
import itertools
import math
import os
import random
import re
import threading
import time
import zlib
from collections import Counter, defaultdict, deque
from collections.abc import Callable, Generator, Iterable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from scheduled_comms.logic.dispatch.engine import (
    RECORD_ATTEMPTS,
    RECORD_PAUSE_SECONDS,
    THROTTLED_DELAY_SECONDS,
    THROTTLED_FREE_FOR,
)
from scheduled_comms.logic.dispatch.fanout import FanOutConfig, plan_slices
from scheduled_comms.logic.dispatch.policy import backoff_delay
from scheduled_comms.logic.dispatch.report import UNCLAIMED, RowOutcome
from scheduled_comms.models.domain import MAX_ATTEMPTS, Channel

from benchmarks.fake_aws import MEDIANS, SIGMA, FakeAws, LatencyModel, PartitionCapacity, TokenBucket

# --------------------------------------------------------------------------------------------------
# The event loop
# --------------------------------------------------------------------------------------------------


class Task:
    """A process of the simulation: a generator that yields what it waits for (see ``Simulation``)."""

    def __init__(self, simulation: Simulation, body: Generator[Any, Any, Any]) -> None:
        self._simulation = simulation
        self._body = body
        self.done = False
        self.result: Any = None
        self._waiters: list[Callable[[], None]] = []

    def _step(self, value: Any = None) -> None:
        try:
            waited = self._body.send(value)
        except StopIteration as stop:
            self.done, self.result = True, stop.value
            for waiter in self._waiters:
                waiter()
            return
        self._simulation._wait(self, waited)

    def on_done(self, callback: Callable[[], None]) -> None:
        if self.done:
            callback()
        else:
            self._waiters.append(callback)


@dataclass(frozen=True)
class AnyOf:
    """Wait until at least one of ``tasks`` is done; the yield answers the set of those done."""

    tasks: frozenset[Task]


class Simulation:
    """A discrete-event loop on a simulated clock.

    A process yields a number (wait that many seconds), a ``Task`` (wait until it is done; answers its
    result) or ``AnyOf``. Events due at the same instant run in the order they were scheduled.
    """

    def __init__(self) -> None:
        self.now = 0.0
        self._queue: list[tuple[float, int, Callable[[], None]]] = []
        self._order = itertools.count()

    def at(self, when: float, action: Callable[[], None]) -> None:
        heapq.heappush(self._queue, (max(when, self.now), next(self._order), action))

    def spawn(self, body: Generator[Any, Any, Any]) -> Task:
        task = Task(self, body)
        self.at(self.now, task._step)
        return task

    def _wait(self, task: Task, waited: Any) -> None:
        if isinstance(waited, int | float):
            self.at(self.now + waited, task._step)
        elif isinstance(waited, Task):
            waited.on_done(lambda: self.at(self.now, lambda: task._step(waited.result)))
        elif isinstance(waited, AnyOf):
            fired = [False]

            def wake() -> None:
                if not fired[0]:
                    fired[0] = True
                    self.at(self.now, lambda: task._step({t for t in waited.tasks if t.done}))

            for other in waited.tasks:
                other.on_done(wake)
        else:
            raise TypeError(f"a process yielded {waited!r}")

    def run(self, until: float = math.inf) -> None:
        while self._queue and self._queue[0][0] <= until:
            self.now, _, action = heapq.heappop(self._queue)
            action()


def all_of(tasks: Iterable[Task]) -> Generator[Any, Any, list[Any]]:
    """``yield from all_of(tasks)``: wait for every task, answer their results in order."""
    results = []
    for task in tasks:
        results.append((yield task))
    return results


# --------------------------------------------------------------------------------------------------
# What the model is given: the design, and the costs measured from real runs
# --------------------------------------------------------------------------------------------------

LAMBDA_MB_PER_VCPU = 1769  # "at 1,769 MB, a function has the equivalent of one vCPU" (Lambda docs)


@dataclass(frozen=True)
class Design:
    """How dispatch is laid out. ``today`` reads main's settings and template; the rest are what the
    coming design changes (today's values are the defaults)."""

    tick_interval: float
    poll_step: float
    timeout: float
    reserve: float
    page_size: int
    shards: int
    concurrency: int  # rows in flight per worker (its thread pool)
    pool_size: int  # botocore's connections per client; a call beyond it opens a new one
    new_connection_seconds: float  # TCP + TLS setup for such a call (an assumption: ~3 round trips)
    vcpu: float  # the worker's share of a CPU (Lambda memory / 1,769 MB)
    backoff_base: float
    backoff_cap: float
    directory_cache_seconds: float
    max_workers: int = 1  # the tick's fan-out: at most this many workers a tick ...
    rows_per_worker: int = 10**9  # ... one for every this many rows coming due within the minute
    tick_vcpu: float = 0.145  # the tick's share of a CPU (its memory / 1,769 MB)
    read_ahead: float = 0.0  # rows due within this many seconds are read and slept to the instant
    pace_per_provider: dict[str, float] | None = None  # sends/s per provider
    pace_per_company: float | None = None  # sends/s per company
    shared_limiter: bool = False  # paced on schedules every worker shares (else a bucket per process)
    limiter_batch_seconds: float = 0.2  # slots reserved at once: this much of the quota ...
    limiter_max_batch: int = 16  # ... at most this many (the worker's sends in flight)

    @classmethod
    def today(cls, stack: Any) -> Design:
        from scheduled_comms import composition
        from scheduled_comms.adapters.aws import client
        from scheduled_comms.settings import get_settings

        config, settings = composition.dispatch_config(), get_settings()
        memory = int(stack.function_setting("DispatchWorkerFunction", "MemorySize", 1024))
        fan_out, limiter = composition.fan_out_config(), composition.rate_limiter()
        return cls(
            tick_interval=config.tick_interval_seconds,
            poll_step=config.poll_step_seconds,
            timeout=float(stack.function_setting("DispatchWorkerFunction", "Timeout", 90)),
            reserve=config.reserve_seconds,
            page_size=config.page_size,
            shards=settings.due_shard_count,
            concurrency=config.concurrency,
            pool_size=client("dynamodb").meta.config.max_pool_connections,
            new_connection_seconds=0.015,
            vcpu=min(1.0, memory / LAMBDA_MB_PER_VCPU),
            backoff_base=config.backoff_base_seconds,
            backoff_cap=config.backoff_cap_seconds,
            directory_cache_seconds=settings.directory_cache_seconds,
            read_ahead=config.read_ahead_seconds,
            max_workers=fan_out.max_workers,
            rows_per_worker=fan_out.rows_per_worker,
            tick_vcpu=min(1.0, int(stack.function_setting("TickFunction", "MemorySize", 256)) / LAMBDA_MB_PER_VCPU),
            shared_limiter=True,
            limiter_batch_seconds=limiter._batch_seconds,
            limiter_max_batch=limiter._max_batch,
        )


STEPS = ("query", "claim", "send", "finalize")


@dataclass
class Costs:
    """Measured: CPU seconds per call of each step (the code's own, and the fake's and moto's inside
    it), the dispatcher's own CPU per claimed row, and the DynamoDB write units each step charged."""

    own: dict[str, float]
    fake: dict[str, float]
    per_row: float
    per_row_fake: float
    charges: dict[str, list[tuple[str, float]]]  # step -> [(partition template, units)]
    attempts: dict[str, int]  # botocore's total attempts per client: dynamodb, ses, sns
    retries_throttles: dict[str, bool]  # whether botocore retries that client's throttling error

    def cpu(self, step: str, with_fake: bool) -> float:
        return self.own[step] + (self.fake[step] if with_fake else 0.0)


@dataclass(frozen=True)
class SimRow:
    index: int
    company: str
    due: float
    shard: int


@dataclass
class RowState:
    row: SimRow
    scheduled: float
    status: str = "pending"
    attempts: int = 0
    sent_at: float | None = None


class RetryQuota:
    """botocore's standard-mode retry quota: 500, a retry costs 5, a success gives 1 (or the retry's 5) back."""

    def __init__(self) -> None:
        self.available = 500

    def acquire(self) -> bool:
        if self.available < 5:
            return False
        self.available -= 5
        return True

    def release(self, retried: bool) -> None:
        self.available = min(500, self.available + (5 if retried else 1))


@dataclass
class SimReservation:
    """``SharedRateLimiter``'s slots of one schedule in one process (``pending``: its lock is held)."""

    start: float = 0.0
    count: int = 0
    used: int = 0
    pending: bool = False


# The tick's slices reach their workers this long after it queues them: SQS to Lambda's poller to a warm
# worker. An assumption (AWS publishes no figure; Lambda long-polls the queue, so a message is usually
# taken within tens of milliseconds, and starting the invocation adds its own).
SQS_DELIVERY_SECONDS = 0.1


@dataclass
class Process:
    """One Lambda container (or the real runs' one process): its CPU, caches, retry quotas and pools."""

    vcpu: float
    cpu_free_at: float = 0.0
    directory: dict[str, float] = field(default_factory=dict)
    quotas: dict[str, RetryQuota] = field(default_factory=lambda: defaultdict(RetryQuota))
    in_flight: Counter[str] = field(default_factory=Counter)
    limiters: dict[str, TokenBucket] = field(default_factory=dict)  # pacing per process (the old design)
    reservations: dict[tuple[str, str | None], SimReservation] = field(default_factory=dict)  # the shared limiter's

    def cpu(self, now: float, seconds: float) -> float:
        """How long until ``seconds`` of CPU, queued behind what is already running, are done."""
        start = max(now, self.cpu_free_at)
        self.cpu_free_at = start + seconds / self.vcpu
        return self.cpu_free_at - now


@dataclass
class Outcome:
    lateness: list[float]  # per row; math.inf for a row never sent
    send_times: list[float]
    throttled: Counter[str]
    counts: Counter[str]
    simulated_seconds: float


class Model:
    """The dispatcher of ``logic/dispatch/engine.py`` on a simulated clock (see the module's docstring)."""

    def __init__(
        self,
        design: Design,
        costs: Costs,
        quotas: dict[str, float],
        seed: int,
        with_fake_cpu: bool = False,
        one_process: bool = False,
        latency_scale: float = 1.0,
    ) -> None:
        self.design = design
        self.costs = costs
        self.with_fake_cpu = with_fake_cpu  # the real runs' CPU includes moto's
        self.one_process = one_process  # the real runs' workers share one interpreter
        self.sim = Simulation()
        self.rng = random.Random(seed)
        self.latency = LatencyModel(seed, latency_scale)
        self.capacity = PartitionCapacity()
        self.provider = {name: TokenBucket(rate) for name, rate in quotas.items()}
        self.company_limiters: dict[str, TokenBucket] = {}
        self.schedules: dict[tuple[str, str | None], float] = {}  # the shared limiter's items: next free slot
        self.limiter_writes = 0
        self.workers_started: list[int] = []  # per tick
        self.throttled: Counter[str] = Counter()
        self.counts: Counter[str] = Counter()
        self.rows: list[RowState] = []
        self._due: list[list[tuple[float, int]]] = [[] for _ in range(design.shards)]
        self._shared = Process(design.vcpu)

    # -- the Due index --------------------------------------------------------------------------------
    def _index(self, state: RowState) -> None:
        heapq.heappush(self._due[state.row.shard], (state.scheduled, state.row.index))

    def _query_due(self, shard: int, upto: float, limit: int) -> list[RowState]:
        heap, found = self._due[shard], list[tuple[float, int]]()
        while heap and heap[0][0] <= upto and len(found) < limit:
            when, index = heapq.heappop(heap)
            state = self.rows[index]
            if state.status == "pending" and state.scheduled == when:
                found.append((when, index))
        for entry in found:
            heapq.heappush(heap, entry)
        return [self.rows[index] for _, index in found]

    # -- calls ----------------------------------------------------------------------------------------
    def _cpu(self, process: Process, step: str) -> float:
        return process.cpu(self.sim.now, self.costs.cpu(step, self.with_fake_cpu))

    def _charges(self, step: str, row: SimRow) -> dict[tuple[str, str], float]:
        charges: dict[tuple[str, str], float] = defaultdict(float)
        for template, units in self.costs.charges.get(step, []):
            name, _, value = template.partition("|")
            value = value.replace("{company}", row.company).replace("{row}", str(row.index))
            charges[(name, value.replace("{shard}", str(row.shard)))] += units
        return charges

    def _call(self, process: Process, client: str, call: str, admit: Callable[[], bool]) -> Generator[Any, Any, bool]:
        """One botocore call: each attempt admitted (or throttled) on arrival, then its latency;
        throttled attempts retried as botocore's standard mode does. Answers whether it succeeded."""
        attempt = 1
        while True:
            extra = self.design.new_connection_seconds if process.in_flight[client] >= self.design.pool_size else 0.0
            process.in_flight[client] += 1
            admitted = admit()
            if not admitted:
                self.throttled[call] += 1
            yield extra + self.latency.draw(call)
            process.in_flight[client] -= 1
            quota = process.quotas[client]
            if admitted:
                quota.release(retried=attempt > 1)
                return True
            if (
                not self.costs.retries_throttles[client]
                or attempt >= self.costs.attempts[client]
                or not quota.acquire()
            ):
                return False
            yield self.rng.random() * min(2 ** (attempt - 1), 20)
            attempt += 1

    # -- the dispatcher -------------------------------------------------------------------------------
    def _row(self, worker: Process, state: RowState, now: float) -> Generator[Any, Any, str]:
        """``Dispatcher._claim`` and ``_dispatch_claimed`` for an email (sender settings read through
        the tick's directory cache), and ``_record``'s retries."""
        row, process = state.row, worker
        if self.design.read_ahead and state.scheduled > self.sim.now:
            yield state.scheduled - self.sim.now
            now = self.sim.now
        yield self._cpu(process, "claim")
        won = [False]

        def claim() -> bool:
            claimable = state.status == "pending" and state.scheduled <= now
            if not self.capacity.admit("write", self._charges("claim" if claimable else "lost", row), self.sim.now):
                return False
            if claimable:
                state.status, state.attempts, won[0] = "dispatching", state.attempts + 1, True
            return True

        admitted = yield from self._call(process, "dynamodb", "dynamodb.UpdateItem", claim)
        if not admitted:
            return RowOutcome.STORE_ERROR
        if not won[0]:
            return RowOutcome.LOST
        yield process.cpu(self.sim.now, self.costs.per_row + (self.costs.per_row_fake if self.with_fake_cpu else 0))
        if process.directory.get(row.company, -1.0) <= self.sim.now:
            read = yield from self._call(process, "dynamodb", "dynamodb.GetItem", lambda: True)
            if read:
                process.directory[row.company] = self.sim.now + self.design.directory_cache_seconds
        yield self._cpu(process, "send")
        yield from self._pace(process, row)
        bucket = self.provider.get("ses")
        sent = yield from self._call(
            process, "ses", "sesv2.SendEmail", lambda: bucket is None or bucket.try_take(1, self.sim.now)
        )
        delay = backoff_delay(state.attempts, self.design.backoff_base, self.design.backoff_cap, self.rng)
        if sent:
            state.sent_at = self.sim.now
            label, status = RowOutcome.DISPATCHED, "dispatched"
        elif self.sim.now - row.due < THROTTLED_FREE_FOR.total_seconds():
            # Every refusal the fake answers is for SES's rate: main makes the send again in seconds, no attempt spent.
            label, status, delay = RowOutcome.THROTTLED, "pending", self.rng.uniform(*THROTTLED_DELAY_SECONDS)
            state.attempts -= 1
        elif state.attempts < MAX_ATTEMPTS[Channel.EMAIL]:
            label, status = RowOutcome.RETRIED, "pending"
        else:
            label, status = RowOutcome.FAILED, "failed"

        def record() -> bool:
            if not self.capacity.admit("write", self._charges("finalize", row), self.sim.now):
                return False
            state.status = status
            if status == "pending":
                state.scheduled = now + delay
                self._index(state)
            return True

        yield self._cpu(process, "finalize")
        for attempt in range(1, RECORD_ATTEMPTS + 1):
            if (yield from self._call(process, "dynamodb", "dynamodb.UpdateItem", record)):
                return label
            yield RECORD_PAUSE_SECONDS * attempt
        return "unrecorded"  # its lease runs out and a later tick takes it over (not modelled)

    def _pace(self, process: Process, row: SimRow) -> Generator[Any, Any, None]:
        """Wait for a send slot: the company's quota first (if any), then the provider's."""
        if self.design.shared_limiter:
            scopes: list[tuple[tuple[str, str | None], float]] = []
            if self.design.pace_per_company:
                scopes.append((("ses", row.company), self.design.pace_per_company))
            if rate := (self.design.pace_per_provider or {}).get("ses"):
                scopes.append((("ses", None), rate))
            for scope, rate in scopes:
                slot = yield from self._slot(process, scope, rate)
                if slot > self.sim.now:
                    yield slot - self.sim.now
            return
        # The design before the shared limiter: a bucket per process, so overlapping ticks may exceed the quota.
        rate = (self.design.pace_per_provider or {}).get("ses")
        bucket = TokenBucket(rate, capacity=1, now=self.sim.now)  # as main builds it: no bursts
        limiters = [process.limiters.setdefault("ses", bucket)] if rate else []
        if self.design.pace_per_company:
            limiters.append(
                self.company_limiters.setdefault(row.company, TokenBucket(self.design.pace_per_company, now=0.0))
            )
        for limiter in limiters:
            while not limiter.try_take(1, self.sim.now):
                yield limiter.wait(1, self.sim.now)

    def _slot(self, process: Process, scope: tuple[str, str | None], rate: float) -> Generator[Any, Any, float]:
        """``SharedRateLimiter.acquire``: the next slot of this process's reservation, reserving a batch (one
        DynamoDB write, ``DynamoRateBuckets.reserve``) when none is left; a slot left further behind than
        ``limiter_batch_seconds`` is lost."""
        reservation = process.reservations.setdefault(scope, SimReservation())
        while reservation.pending:  # another send of this worker holds the limiter's lock
            yield 0.001
        reservation.pending = True
        now = self.sim.now
        late = max(1 / rate, self.design.limiter_batch_seconds)
        reservation.used = max(reservation.used, math.ceil((now - late - reservation.start) * rate - 1e-9))
        while reservation.used >= reservation.count:
            count = max(1, min(self.design.limiter_max_batch, round(rate * self.design.limiter_batch_seconds)))
            got: list[float] = []

            def reserve(count: int = count, got: list[float] = got) -> bool:
                start = max(now, self.schedules.get(scope, now))  # restarted at ``now`` when idle, else moved on
                self.schedules[scope] = start + count / rate
                self.limiter_writes += 1
                got.append(start)
                return True

            yield from self._call(process, "dynamodb", "dynamodb.UpdateItem", reserve)
            reservation.start, reservation.count = got[0], count
            reservation.used = max(0, math.ceil((now - late - reservation.start) * rate - 1e-9))
        slot = reservation.start + reservation.used / rate
        reservation.used += 1
        reservation.pending = False
        return slot

    def _read_shards(
        self, process: Process, shards: list[int], upto: float, due: bool
    ) -> Generator[Any, Any, list[RowState]]:
        def read(shard: int) -> Generator[Any, Any, list[RowState]]:
            yield self._cpu(process, "query")
            found: list[RowState] = []

            def snapshot() -> bool:
                found.extend(self._query_due(shard, upto, self.design.page_size) if due else [])
                return True

            ok = yield from self._call(process, "dynamodb", "dynamodb.Query", snapshot)
            if not ok:
                self.counts[RowOutcome.STORE_ERROR] += 1
            return found

        per_shard = yield from all_of([self.sim.spawn(read(shard)) for shard in shards])
        return [state for group in itertools.zip_longest(*per_shard) for state in group if state is not None]

    def _claim_all(
        self, process: Process, due: list[RowState], now: float, remaining: Callable[[], float]
    ) -> Generator[Any, Any, bool]:
        window = self.design.concurrency
        keys = iter(due)
        in_flight: set[Task] = set()
        latest: deque[bool] = deque(maxlen=window)
        progressed = False
        while True:
            stale = len(latest) == window and sum(latest) * 2 > window
            while len(in_flight) < window and not stale and remaining() > self.design.reserve:
                state = next(keys, None)
                if state is None:
                    break
                in_flight.add(self.sim.spawn(self._row(process, state, now)))
            if not in_flight:
                return progressed
            done = yield AnyOf(frozenset(in_flight))
            in_flight -= done
            for task in done:
                self.counts[task.result] += 1
                latest.append(task.result in UNCLAIMED)
                progressed = progressed or not latest[-1]

    def _pass(self, process: Process, shards: list[int], remaining: Callable[[], float]) -> Generator[Any, Any, None]:
        """``Dispatcher._pass``: each read at the time it is made; what is due now in an order of the worker's
        own, then what comes due before the next poll in due order (each slot waits for its row's instant)."""
        while remaining() > self.design.reserve:
            now = self.sim.now
            due = yield from self._read_shards(process, shards, now + self.design.read_ahead, due=True)
            if not due:
                return
            ready = [state for state in due if state.scheduled <= now]
            self.rng.shuffle(ready)
            coming = sorted((state for state in due if state.scheduled > now), key=lambda state: state.scheduled)
            if not (yield from self._claim_all(process, ready + coming, now, remaining)):
                return

    def worker(self, shards: list[int], started: float, process: Process) -> Generator[Any, Any, None]:
        """``Dispatcher.run``: passes every ``poll_step`` until the next tick takes over."""
        design = self.design
        stop_at, deadline = started + design.tick_interval, started + design.timeout

        def remaining() -> float:
            return deadline - self.sim.now

        process.directory.clear()  # composition.dispatcher() forgets the directory's cache each tick
        while True:
            yield from self._pass(process, shards, remaining)
            wake = self.sim.now + design.poll_step
            if wake >= stop_at or remaining() - design.poll_step < design.reserve:
                return
            yield wake - self.sim.now

    # -- a run ----------------------------------------------------------------------------------------
    def run(self, rows: list[SimRow], starts: list[float] | None = None, horizon: float = 6 * 3600) -> Outcome:
        """Ticks every ``tick_interval`` from 0 (or one worker per entry of ``starts``) until every row
        is sent or failed, or ``horizon``."""
        for row in rows:
            self.rows.append(RowState(row, row.due))
            self._index(self.rows[-1])
        design = self.design

        def process() -> Process:
            return self._shared if self.one_process else Process(design.vcpu)

        if starts is not None:
            for started in starts:
                self.sim.spawn(self.worker(list(range(design.shards)), started, process()))
            self.sim.run(horizon)
        else:

            def hand_out() -> Generator[Any, Any, None]:
                """``fan_out``: the tick counts each shard's coming minute (one query after another), plans
                the slices, queues them; each reaches a worker of its own."""
                tick = Process(design.tick_vcpu)
                upto = self.sim.now + design.tick_interval
                counts = []
                for shard in range(design.shards):
                    yield self._cpu(tick, "query")
                    found: list[int] = []

                    def count(shard: int = shard, found: list[int] = found) -> bool:
                        found.append(len(self._query_due(shard, upto, design.rows_per_worker)))
                        return True

                    yield from self._call(tick, "dynamodb", "dynamodb.Query", count)
                    counts.append(found[0] if found else design.rows_per_worker)
                slices = plan_slices(counts, FanOutConfig(design.max_workers, design.rows_per_worker))
                self.workers_started.append(len(slices))
                yield self.latency.draw("sqs.SendMessageBatch") * math.ceil(len(slices) / 10)
                yield SQS_DELIVERY_SECONDS
                for shards in slices:
                    self.sim.spawn(self.worker(list(shards), self.sim.now, process()))

            def ticks() -> Generator[Any, Any, None]:
                while self.sim.now < horizon and any(s.status in ("pending", "dispatching") for s in self.rows):
                    self.sim.spawn(hand_out())
                    yield design.tick_interval

            self.sim.spawn(ticks())
            self.sim.run(horizon + design.timeout)
        lateness = [s.sent_at - s.row.due if s.sent_at is not None else math.inf for s in self.rows]
        sends = sorted(s.sent_at for s in self.rows if s.sent_at is not None)
        return Outcome(lateness, sends, self.throttled, self.counts, self.sim.now)


def shard_of(index: int, shards: int) -> int:
    return zlib.crc32(str(index).encode()) % shards


# --------------------------------------------------------------------------------------------------
# Real runs against the fake
# --------------------------------------------------------------------------------------------------


@dataclass
class StepMeter:
    """CPU per call of each step, the code's own and the fake's inside it."""

    fake: FakeAws
    own: defaultdict[str, float] = field(default_factory=lambda: defaultdict(float))
    inside: defaultdict[str, float] = field(default_factory=lambda: defaultdict(float))
    calls: Counter[str] = field(default_factory=Counter)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def wrap(self, step: str, method: Callable[..., Any]) -> Callable[..., Any]:
        def measured(*args: Any, **kwargs: Any) -> Any:
            cpu, inside = time.thread_time(), self.fake.thread_cpu()
            with self.fake.tagged(step):
                try:
                    return method(*args, **kwargs)
                finally:
                    fake = self.fake.thread_cpu() - inside
                    with self._lock:
                        self.own[step] += time.thread_time() - cpu - fake
                        self.inside[step] += fake
                        self.calls[step] += 1

        return measured


class Measured:
    """A store or sender whose named methods are measured as ``step``s."""

    def __init__(self, target: Any, meter: StepMeter, steps: dict[str, str]) -> None:
        self._target = target
        for name, step in steps.items():
            setattr(self, name, meter.wrap(step, getattr(target, name)))

    def __getattr__(self, name: str) -> Any:
        return getattr(self._target, name)


@dataclass
class RealRun:
    company_id: str
    rows: int
    lateness: list[float]
    send_times: list[float]  # seconds after the workers started
    throttled: int
    process_cpu: float
    fake_cpu: float
    meter: StepMeter
    claimed: int
    load_average: float  # the machine's, over the last minute, as the run ended (others share it)
    cpu_share: float  # the share of a core the run could have had: its own use plus the machine's idle time


def seed_emails(company_id: str, due: list[datetime]) -> list[str]:
    from scheduled_comms_cli.seeding import seed_due_rows

    return seed_due_rows(company_id, "", len(due), due[0], channels=[Channel.EMAIL], due=due)


def idle_cpu_seconds() -> float:
    """The machine's idle CPU time since boot, all cores (Linux's /proc/stat; 0 where there is none)."""
    try:
        with open("/proc/stat") as stat:
            fields = stat.readline().split()
    except OSError:
        return 0.0
    return (int(fields[4]) + int(fields[5])) / os.sysconf("SC_CLK_TCK")  # idle + iowait


def real_run(
    fake: FakeAws,
    workers: int,
    offsets: list[float],
    config: Any,
    single_pass: bool = False,
    timeout: float = 60,
    paced: float | None = None,
) -> RealRun:
    """``workers`` threads, each running the real ``Dispatcher`` (one process: shared clients and CPU),
    over emails of one new company due ``offsets`` seconds after the workers start; with ``paced``, each
    worker's sends go through a shared limiter of its own (its own adapter, as a worker process has) at that
    many emails a second, on the schedule all of them share in the table."""
    import uuid

    from scheduled_comms import composition
    from scheduled_comms.logic.dispatch.engine import Dispatcher

    company_id = str(uuid.uuid4())
    lead = 1.0  # seeding happens before the start
    wall = datetime.now(UTC) + timedelta(seconds=lead)
    with fake.paused():
        ids = seed_emails(company_id, [wall + timedelta(seconds=o) for o in offsets])
    meter = StepMeter(fake)
    store = Measured(
        composition.dispatch_store(),
        meter,
        {"due": "query", "claim": "claim", "transition": "finalize"},
    )
    senders: Any = Measured(composition.senders(), meter, {"send": "send"})
    composition.dispatch_directory().forget()

    def sender() -> Any:
        if paced is None:
            return senders
        from scheduled_comms.adapters.dynamodb.rate_limits import DynamoRateBuckets
        from scheduled_comms.logic.pacing import PacedSender, SendQuotas, SharedRateLimiter
        from scheduled_comms.settings import get_settings

        limiter = SharedRateLimiter(DynamoRateBuckets(get_settings().communications_table), config.concurrency)
        return PacedSender(senders, limiter, SendQuotas(per_provider={Channel.EMAIL: paced}))

    dispatchers = [Dispatcher(store, sender(), composition.dispatch_directory(), config) for _ in range(workers)]
    time.sleep(max(0.0, (wall - datetime.now(UTC)).total_seconds()))
    started, cpu, fake_cpu, throttled = time.monotonic(), time.process_time(), fake.cpu_seconds, fake.throttled_calls
    idle = idle_cpu_seconds()
    claimed: list[int] = []
    threads = [
        threading.Thread(
            target=lambda d=d: claimed.append(
                d.run(wall, lambda: timeout - (time.monotonic() - started), single_pass=single_pass).claimed
            )
        )
        for d in dispatchers
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    process_cpu, idle, elapsed = time.process_time() - cpu, idle_cpu_seconds() - idle, time.monotonic() - started
    sent = {a.row_id: a.at - started for a in fake.accepted if a.at >= started}
    lateness = [sent[i] - o if i in sent else math.inf for i, o in zip(ids, offsets, strict=True)]
    return RealRun(
        company_id=company_id,
        rows=len(ids),
        lateness=lateness,
        send_times=sorted(sent[i] for i in ids if i in sent),
        throttled=fake.throttled_calls - throttled,
        process_cpu=process_cpu,
        fake_cpu=fake.cpu_seconds - fake_cpu,
        meter=meter,
        claimed=sum(claimed),
        load_average=round(os.getloadavg()[0], 2),
        cpu_share=round(min(1.0, (process_cpu + idle) / elapsed), 3),
    )


UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
SHARD_SUFFIX = re.compile(r"#\d+$")


def partition_template(value: str, company_id: str) -> str:
    """A partition key value with its company, row and shard made placeholders.

    The company is the run's; any other id is the row's; a trailing ``#<n>`` on a value naming neither
    is the row's shard (``pending#3``, ``lease#3``).
    """
    value = value.replace(company_id, "{company}")
    if UUID.search(value):
        return UUID.sub("{row}", value)
    return value if "{company}" in value else SHARD_SUFFIX.sub("#{shard}", value)


def charge_templates(fake: FakeAws, company_id: str, table: str) -> dict[str, list[tuple[str, float]]]:
    """Each step's most common set of write charges by partition, as templates; a lost claim pays the
    claim's charge on the table only (a refused condition costs the stored item's size)."""
    seen: dict[str, Counter[tuple[tuple[str, float], ...]]] = defaultdict(Counter)
    for step, kind, charges in fake.charges:
        if step is not None and kind == "write":
            entries = sorted(
                (f"{name}|{partition_template(value, company_id)}", units) for (name, value), units in charges.items()
            )
            seen[step][tuple(entries)] += 1
    found = {step: list(counter.most_common(1)[0][0]) for step, counter in seen.items()}
    found["lost"] = [(name, units) for name, units in found.get("claim", []) if name.startswith(f"{table}|")]
    return found


# --------------------------------------------------------------------------------------------------
# Figures
# --------------------------------------------------------------------------------------------------


def percentiles(values: list[float]) -> dict[str, float | None]:
    """p50, p99 and max in seconds; a percentile that falls on a row never sent is None."""
    ordered = sorted(values)

    def pick(fraction: float) -> float | None:
        value = ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]
        return None if math.isinf(value) else round(max(0.0, value), 3)

    return {"p50": pick(0.5), "p99": pick(0.99), "max": pick(1.0)}


# --------------------------------------------------------------------------------------------------
# The benchmark
# --------------------------------------------------------------------------------------------------

MEASURE_ROWS = int(os.environ.get("BENCH_MODEL_MEASURE_ROWS", "1000"))
CHECK_ROWS = int(os.environ.get("BENCH_MODEL_CHECK_ROWS", "300"))
STEADY_ROWS = int(os.environ.get("BENCH_MODEL_STEADY_ROWS", "20000"))
BURST_ROWS = int(os.environ.get("BENCH_MODEL_BURST_ROWS", "5000"))
STEADY_COMPANIES = 200
SES_QUOTA = 1500.0  # sends/s, the steady scenario's and burst_1500's
SNS_QUOTA = 20.0  # SMS/s (off the email scenarios' path)
COMPANY_QUOTA = 50.0  # sends/s of one company (COMPANY_SENDS_PER_SECOND), below the burst's own 83/s
# The check's runs: short ticks, and latencies x8 so that waiting on AWS, more than moto's CPU (~6 ms an
# UpdateItem, several times the dispatcher's own), sets their pace, as it does in AWS.
CHECK_CONFIG: dict[str, Any] = {"tick_interval_seconds": 15.0, "poll_step_seconds": 1.0, "reserve_seconds": 1.0}
CHECK_TIMEOUT = 30.0
CHECK_PACED_QUOTA = 15.0  # emails/s: the paced check's quota, below its rows' arrival (150/s) and the workers' pace
CHECK_LATENCY_SCALE = 8.0


@contextlib.contextmanager
def deployed_logging() -> Any:
    """Log at the template's level (INFO: a line per row), into /dev/null: its CPU is part of a row's."""
    from scheduled_comms.observability import logger

    handler = logger.registered_handler
    level = logger.log_level
    with open(os.devnull, "w") as sink:
        previous = handler.setStream(sink)  # type: ignore[attr-defined]
        logger.setLevel("INFO")
        try:
            yield
        finally:
            handler.setStream(previous)  # type: ignore[attr-defined]
            logger.setLevel(level)


def measured_costs(fake: FakeAws, run: RealRun, table: str) -> Costs:
    from botocore.retries.standard import ThrottledRetryableChecker
    from scheduled_comms.adapters.aws import client, sending_client

    from benchmarks.fake_aws import THROTTLE_CODES

    meter = run.meter
    per_call = {step: meter.own[step] / max(1, meter.calls[step]) for step in STEPS}
    inside = {step: meter.inside[step] / max(1, meter.calls[step]) for step in STEPS}
    outside_fake = run.fake_cpu - sum(meter.inside.values())
    retried = set(ThrottledRetryableChecker._THROTTLED_ERROR_CODES)  # type: ignore[attr-defined]
    clients = {"dynamodb": client("dynamodb"), "ses": sending_client("sesv2"), "sns": sending_client("sns")}
    return Costs(
        own=per_call,
        fake=inside,
        per_row=(run.process_cpu - sum(meter.own.values()) - run.fake_cpu) / max(1, run.claimed),
        per_row_fake=outside_fake / max(1, run.claimed),
        charges=charge_templates(fake, run.company_id, table),
        attempts={name: c.meta.config.retries["total_max_attempts"] for name, c in clients.items()},
        retries_throttles={name: THROTTLE_CODES[name] in retried for name in clients},
    )


def check_rows(count: int, shards: int) -> tuple[list[float], list[SimRow]]:
    """The check's rows: due evenly over the first two seconds after the workers start."""
    offsets = [2.0 * i / count for i in range(count)]
    return offsets, [SimRow(i, "check", o, shard_of(i, shards)) for i, o in enumerate(offsets)]


def scenario_rows(name: str, seed: int, shards: int) -> list[SimRow]:
    rng = random.Random(seed)
    if name == "steady":
        companies = [f"c{i}" for i in range(STEADY_COMPANIES)]
        dues = sorted(rng.uniform(0, 7200) for _ in range(STEADY_ROWS))
        return [SimRow(i, rng.choice(companies), d, shard_of(i, shards)) for i, d in enumerate(dues)]
    dues = sorted(rng.uniform(0, 60) for _ in range(BURST_ROWS))
    return [SimRow(i, "burst", d, shard_of(i, shards)) for i, d in enumerate(dues)]


def summary(lateness: list[float], send_times: list[float]) -> dict[str, Any]:
    sent = sum(not math.isinf(v) for v in lateness)
    span = (send_times[-1] - send_times[0]) if len(send_times) > 1 else 0.0
    return {
        **percentiles(lateness),
        "rows": len(lateness),
        "sent": sent,
        "unsent": len(lateness) - sent,
        "sends_per_s": round((sent - 1) / span, 1) if span else None,
    }


def bench(setup_stack: Callable[[], Any]) -> dict[str, Any]:
    """The real runs (measure, then check with 1 and 2 workers), then the model's scenarios."""
    from moto import mock_aws
    from scheduled_comms.logic.dispatch.engine import DispatchConfig
    from scheduled_comms.settings import get_settings

    from benchmarks.cost_model import table_shapes

    began = time.perf_counter()
    with mock_aws():
        stack = setup_stack()
        design = Design.today(stack)
        table = get_settings().communications_table
        fake = FakeAws(
            table_shapes(stack.table_definitions()), LatencyModel(seed=11), {"ses": SES_QUOTA, "sns": SNS_QUOTA}
        )
        with fake.installed(), deployed_logging():
            print(f"  measure: {MEASURE_ROWS} due emails, one worker, one pass ...", flush=True)
            base = DispatchConfig(
                tick_interval_seconds=design.tick_interval, page_size=design.page_size, concurrency=design.concurrency
            )
            fake.charges.clear()
            measure = real_run(fake, 1, [-1.0] * MEASURE_ROWS, base, single_pass=True)
            costs = measured_costs(fake, measure, table)
            offsets, check = check_rows(CHECK_ROWS, design.shards)
            real = {}
            fake.latency = LatencyModel(seed=12, scale=CHECK_LATENCY_SCALE)
            for workers in (1, 2):
                print(f"  check: {CHECK_ROWS} emails due over 2 s, {workers} worker(s) in threads ...", flush=True)
                real[workers] = real_run(fake, workers, offsets, replace(base, **CHECK_CONFIG), timeout=CHECK_TIMEOUT)
            # The same with the shared limiter, at a quota below the rows' arrival (SES's quota set to it).
            fake.quotas["ses"] = TokenBucket(CHECK_PACED_QUOTA, now=fake.clock())
            for workers in (1, 2):
                print(f"  check: the same, paced at {CHECK_PACED_QUOTA:g}/s, {workers} worker(s) ...", flush=True)
                real[workers, CHECK_PACED_QUOTA] = real_run(
                    fake,
                    workers,
                    offsets,
                    replace(base, **CHECK_CONFIG),
                    timeout=CHECK_TIMEOUT,
                    paced=CHECK_PACED_QUOTA,
                )
    check_design = replace(
        design,
        tick_interval=CHECK_CONFIG["tick_interval_seconds"],
        poll_step=CHECK_CONFIG["poll_step_seconds"],
        reserve=CHECK_CONFIG["reserve_seconds"],
        timeout=CHECK_TIMEOUT,
        pool_size=10**6,  # the fake answers before botocore takes a connection
    )
    agreement = {}
    for key, run in real.items():
        workers, pace = key if isinstance(key, tuple) else (key, None)
        quotas = {"ses": pace or SES_QUOTA, "sns": SNS_QUOTA}
        model = Model(
            replace(check_design, vcpu=run.cpu_share, pace_per_provider={"ses": pace} if pace else None),
            costs,
            quotas,
            seed=workers,
            with_fake_cpu=True,
            one_process=True,
            latency_scale=CHECK_LATENCY_SCALE,
        )
        predicted = model.run(check, starts=[0.0] * workers, horizon=CHECK_TIMEOUT)
        agreement[f"workers_{workers}" + (f"_paced_{pace:g}" if pace else "")] = {
            "load_average": run.load_average,
            "cpu_share": run.cpu_share,
            "real": {**summary(run.lateness, run.send_times), "throttled_calls": run.throttled},
            "model": {
                **summary(predicted.lateness, predicted.send_times),
                "throttled_calls": sum(predicted.throttled.values()),
            },
        }
    print("  model: steady, burst_1500, burst_14 ...", flush=True)
    scenarios: dict[str, Any] = {}
    values: dict[str, list[float]] = {}
    for name, ses, company in (
        ("steady", SES_QUOTA, None),
        ("burst_1500", SES_QUOTA, None),
        ("burst_14", 14.0, None),
        (f"burst_company_{COMPANY_QUOTA:g}", SES_QUOTA, COMPANY_QUOTA),
    ):
        rows = scenario_rows(name, seed=23, shards=design.shards)
        # The operator sets the quotas to the account's (SES_SENDS_PER_SECOND, ...; COMPANY_SENDS_PER_SECOND).
        paced = replace(design, pace_per_provider={"ses": ses, "sns": SNS_QUOTA}, pace_per_company=company)
        model = Model(paced, costs, {"ses": ses, "sns": SNS_QUOTA}, seed=5)
        outcome = model.run(rows)
        values[name] = outcome.lateness
        scenarios[name] = {
            **summary(outcome.lateness, outcome.send_times),
            "ses_quota_per_s": ses,
            "company_quota_per_s": company,
            "throttled_calls": sum(outcome.throttled.values()),
            "throttled_by_call": dict(outcome.throttled),
            "outcomes": dict(outcome.counts),
            "workers_per_tick_max": max(model.workers_started, default=0),
            "worker_minutes": sum(model.workers_started),
            "limiter_writes_per_send": round(model.limiter_writes / max(1, len(outcome.send_times)), 3),
        }
    cpu_ms = {step: round(costs.own[step] * 1000, 3) for step in STEPS}
    return {
        **scenarios,
        "throttled_calls": sum(s["throttled_calls"] for s in scenarios.values()),
        "check": agreement,
        "measured": {
            "cpu_ms_per_call": cpu_ms,
            "cpu_ms_per_row_overhead": round(costs.per_row * 1000, 3),
            "cpu_ms_per_row": round(
                (costs.per_row + costs.own["claim"] + costs.own["send"] + costs.own["finalize"]) * 1000, 3
            ),
            "moto_and_fake_cpu_ms_per_row": round(measure.fake_cpu / max(1, measure.claimed) * 1000, 3),
            "write_units": {step: sum(u for _, u in entries) for step, entries in costs.charges.items()},
            "write_charges": {step: entries for step, entries in costs.charges.items()},
            "botocore_attempts": costs.attempts,
            "botocore_retries_throttling": costs.retries_throttles,
        },
        "design": {k: v for k, v in vars(design).items()},
        "latency_medians_ms": {k: round(v * 1000, 1) for k, v in MEDIANS.items()},
        "latency_sigma": SIGMA,
        "seconds": round(time.perf_counter() - began, 1),
        "_values": values,
    }


def plot(values: dict[str, list[float]], path: Any) -> None:
    """The share of rows sent within each lateness, per scenario (rows never sent stay off the curve)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axis = plt.subplots(figsize=(8, 4.5))
    for name, lateness in values.items():
        ordered = sorted(max(v, 1e-3) for v in lateness)
        finite = [v for v in ordered if not math.isinf(v)]
        axis.plot(finite, [(i + 1) / len(ordered) for i in range(len(finite))], label=name)
    axis.set_xscale("log")
    axis.set_xlabel("lateness (s): the provider's answer minus the row's due time")
    axis.set_ylabel("share of rows sent")
    axis.set_ylim(0, 1.01)
    axis.grid(True, which="both", alpha=0.3)
    axis.legend()
    axis.set_title("Dispatch fanned out to workers, modelled: 5,000-row bursts and 20,000 rows over 2 h")
    figure.tight_layout()
    figure.savefig(path, dpi=110)


def report_lines(figures: dict[str, Any]) -> list[str]:
    """The report's section on the lateness model."""
    measured, design, check = figures["measured"], figures["design"], figures["check"]
    medians = ", ".join(f"{name} {ms} ms" for name, ms in figures["latency_medians_ms"].items())

    def late(row: dict[str, Any]) -> str:
        return " / ".join("never" if row[k] is None else f"{row[k]:g}" for k in ("p50", "p99", "max"))

    def ratio(model: float | None, real: float | None) -> str:
        return f"{model / real:.2f}" if model is not None and real else "-"

    lines = [
        "## Lateness model: the fanned-out dispatcher, against a modelled AWS",
        "",
        "`benchmarks/lateness_model.py` with `benchmarks/fake_aws.py` (`BENCH_ONLY=lateness_model make bench` runs",
        "this part alone, merged into the last results). Lateness is the provider's answer to the send minus the",
        "row's due time; a row never sent (failed after its attempts) has none, and a percentile that falls on",
        "such rows reads *never*.",
        "",
        "| Scenario | rows | p50 / p99 / max (s) | sent | sends/s | throttled calls | workers a tick (most), worker-minutes | limiter writes per send | outcomes |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for name, how in (
        ("steady", "due evenly over 2 h, 200 companies, SES quota 1,500/s"),
        ("burst_1500", "one company, due evenly within one minute, SES quota 1,500/s"),
        ("burst_14", "the same burst, SES quota 14/s"),
        (f"burst_company_{COMPANY_QUOTA:g}", f"the same burst, SES 1,500/s, the company's quota {COMPANY_QUOTA:g}/s"),
    ):
        row = figures[name]
        outcomes = ", ".join(f"{k} {v}" for k, v in sorted(row["outcomes"].items()))
        lines.append(
            f"| {name}: {how} | {row['rows']} | {late(row)} | {row['sent']} | {row['sends_per_s']} | "
            f"{row['throttled_calls']} | {row['workers_per_tick_max']}, {row['worker_minutes']} | "
            f"{row['limiter_writes_per_send']} | {outcomes} |"
        )
    lines += [
        "",
        f"Throttled calls over the scenarios (`lateness_model.throttled_calls`): {figures['throttled_calls']}.",
        "",
        "![lateness of the modelled scenarios](lateness_model.png)",
        "",
        "**What is modelled.** Ticks every "
        f"{design['tick_interval']:g} s. Each tick counts, shard after shard (one query each, on the tick's "
        f"{design['tick_vcpu']:.3f} of a vCPU), the rows coming due within the minute, at most "
        f"{design['rows_per_worker']} a shard, and shares its {design['shards']} shards out with the code's own "
        f"`plan_slices`: one worker per {design['rows_per_worker']} rows, at least one, at most {design['max_workers']}. "
        "The slices reach their workers after an SQS `SendMessageBatch` (a drawn latency) and "
        f"{SQS_DELIVERY_SECONDS:g} s of delivery (an assumption: Lambda long-polls the queue). Each worker is a Lambda "
        f"process of its own ({design['timeout']:g} s timeout, polling every {design['poll_step']:g} s "
        f"while more than {design['reserve']:g} s remain, so the workers of consecutive ticks overlap) running the engine "
        f"over its slice: the due queries ({design['page_size']} a shard, reading {design['read_ahead']:g} s ahead and "
        "sleeping to each row's instant), the shuffled claims with "
        f"{design['concurrency']} rows in flight (the stale-list rule included), the sender settings read through the "
        "worker's directory cache, the shared limiter (`SharedRateLimiter`: a batch of slots, about "
        f"{design['limiter_batch_seconds']:g} s of the quota and at most {design['limiter_max_batch']}, reserved with one "
        "DynamoDB write on a schedule every worker shares, the worker's other sends waiting while it is reserved; "
        "each send sleeps to its slot; a slot more than that late is lost), the send, the finalize (retried as `_record` retries it), the row's backoff "
        "after a send that failed past botocore's retries. Each call takes its measured CPU on the worker's one CPU "
        f"(the GIL; a Lambda of the template's memory has {design['vcpu']:.2f} of a vCPU), queued behind the others, "
        "then a drawn latency; past "
        f"{design['pool_size']} calls in flight on one client it also pays {design['new_connection_seconds'] * 1000:g} ms "
        "for a new connection (an assumption: a TCP and TLS handshake in-region). Throttled calls are retried as "
        "botocore's standard mode does (attempts "
        + ", ".join(f"{k} {v}" for k, v in measured["botocore_attempts"].items())
        + "; throttling retried: "
        + ", ".join(f"{k} {'yes' if v else 'no'}" for k, v in measured["botocore_retries_throttling"].items())
        + "; a random pause of up to 2^(n-1) s, at most 20, before retry n; a retry quota of 500 per client).",
        "",
        f"**Latencies.** Lognormal around each call's median, sigma {figures['latency_sigma']} of the log (p99 = 3.2 x the "
        f"median): {medians}. The medians are issue 10's (DynamoDB's from its documented single-digit milliseconds; "
        "the others typical in-region client-side medians); the spread is an assumption, as no provider publishes one.",
        "",
        "**Capacity.** Every partition key of the table and of each index has a bucket of 1,000 write and 3,000 "
        "read units a second (one second's burst); a write is admitted only when all the partitions it touches "
        "can pay, else answered `ProvisionedThroughputExceededException`. SES and SNS quotas are account-wide "
        "buckets of one second's sends, answered `TooManyRequestsException` and `Throttled`.",
        "",
        "**Measured from real runs** (the real `Dispatcher`, DynamoDB store, SES sender and botocore in threads "
        "against the fake, logging at INFO into /dev/null): CPU per call (ms, the code's own, moto's and the fake's "
        "left out) "
        + ", ".join(f"{k} {v}" for k, v in measured["cpu_ms_per_call"].items())
        + f"; the dispatcher's own per row {measured['cpu_ms_per_row_overhead']} ms; in all "
        f"{measured['cpu_ms_per_row']} ms per row on this machine (moto and the fake spent another "
        f"{measured['moto_and_fake_cpu_ms_per_row']} ms). Write units per step, from the items written "
        "(partition by partition, as templates: company, row and shard made placeholders): "
        + ", ".join(f"{k} {v}" for k, v in measured["write_units"].items())
        + ".",
        "",
        "**Checked against real runs.** The model's prediction for the real dispatcher in 1 and 2 threads of one "
        f"process (sharing its CPU, moto's CPU counted, latencies x{CHECK_LATENCY_SCALE:g} so that waiting sets the "
        "pace), over the same rows due within two seconds. The real runs share this machine's 2 cores with whatever "
        "else runs (the load average is given), so the model's CPU for each is what the run could have had: its "
        "own CPU time plus the machine's idle time over the run (/proc/stat), at most one core (the GIL). On a "
        "quiet machine that is a whole core and the model predicts; on a loaded one it is what the run got.",
        "",
        f"The paced rows (`_paced_{CHECK_PACED_QUOTA:g}`) send through the shared limiter (each worker its own, on one "
        f"schedule in the table) at {CHECK_PACED_QUOTA:g}/s, with SES's quota in the fake set to the same: they check the "
        "limiter's model against the limiter's code, and count the throttled calls of both.",
        "",
        "| Workers | real p50 / p99 / max (s) | model | real sends/s | model | model / real: p50, p99, sends/s | throttled calls: real, model | load average, CPU share |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for key, pair in check.items():
        real, model = pair["real"], pair["model"]
        lines.append(
            f"| {key.removeprefix('workers_')} | {late(real)} | {late(model)} | {real['sends_per_s']} | "
            f"{model['sends_per_s']} | {ratio(model['p50'], real['p50'])}, {ratio(model['p99'], real['p99'])}, "
            f"{ratio(model['sends_per_s'], real['sends_per_s'])} | {real['throttled_calls']}, {model['throttled_calls']} | "
            f"{pair['load_average']}, {pair['cpu_share']} |"
        )
    lines += [
        "",
        "The check runs the engine alone (threads of one process, each over every shard, unpaced: SES's quota "
        "is not reached), as before the fan-out: it checks the model of a worker; the fan-out and the limiter "
        "are the code's own rules (`plan_slices`, the limiter's arithmetic) on top, tested with real threads in "
        "`tests/integration/test_rate_limits.py` and the overlapping-tick and fault-injection suites.",
        "",
        "**Left out.** Lambda's cold starts and invocation delays (EventBridge's schedule fires on time here; "
        "a worker of a new tick is assumed warm); the workers' concurrency limit (a tick's at most "
        f"{design['max_workers']} and the previous tick's overlap stay under the mapping's maximum); this machine's CPU speed against "
        "Lambda's (only the vCPU share is applied); the GIL's switching (the model queues whole CPU slices); "
        "DynamoDB's burst and adaptive capacity, and read capacity in the model (the fake meters reads; the "
        "tick's are small); network errors, timeouts and crashes (leases never expire in the model); business "
        "hours, cadences, SMS and voice rows (the scenarios send emails; the fake answers SNS and the voice "
        "provider too); EventBridge, whose events the stream consumer publishes off the send's path; a warm "
        "container keeping its caches and retry quota from one tick to the next. The connection-pool cost is "
        "modelled but not checked (the fake answers before botocore takes a connection).",
        "",
        f"This part took {figures['seconds']} s.",
        "",
    ]
    return lines


def costs_from(measured: dict[str, Any]) -> Costs:
    """The costs a past run measured (its ``lateness_model.measured``), for the model's scenarios (which
    use the code's own CPU only, not moto's or the fake's)."""
    own = {step: ms / 1000 for step, ms in measured["cpu_ms_per_call"].items()}
    return Costs(
        own=own,
        fake=dict.fromkeys(own, 0.0),
        per_row=measured["cpu_ms_per_row_overhead"] / 1000,
        per_row_fake=0.0,
        charges={
            step: [(template, units) for template, units in entries]
            for step, entries in measured["write_charges"].items()
        },
        attempts=measured["botocore_attempts"],
        retries_throttles=measured["botocore_retries_throttling"],
    )


def replay(design: dict[str, Any], measured: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The scenarios of ``bench`` for a recorded design with another run's measured costs: what a design
    gives with the CPU per call a quieter machine measured, say."""
    costs, found = costs_from(measured), {}
    for name, ses, company in (
        ("steady", SES_QUOTA, None),
        ("burst_1500", SES_QUOTA, None),
        ("burst_14", 14.0, None),
        (f"burst_company_{COMPANY_QUOTA:g}", SES_QUOTA, COMPANY_QUOTA),
    ):
        paced = replace(Design(**design), pace_per_provider={"ses": ses, "sns": SNS_QUOTA}, pace_per_company=company)
        model = Model(paced, costs, {"ses": ses, "sns": SNS_QUOTA}, seed=5)
        outcome = model.run(scenario_rows(name, seed=23, shards=paced.shards))
        found[name] = {
            **{k: v for k, v in summary(outcome.lateness, outcome.send_times).items() if k in ("p50", "p99", "max")},
            "throttled_calls": sum(outcome.throttled.values()),
        }
    return found


if __name__ == "__main__":
    # python -m benchmarks.lateness_model <results.json whose measured costs to use>: this run's design
    # (benchmarks/results.json) replayed with those costs.
    import json
    import sys
    from pathlib import Path

    here = Path(__file__).resolve().parent
    design = json.loads((here / "results.json").read_text())["lateness_model"]["design"]
    measured = json.loads(Path(sys.argv[1]).read_text())["lateness_model"]["measured"]
    print(json.dumps(replay(design, measured), indent=2))
