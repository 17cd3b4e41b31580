"""The tick's part of dispatch: share the due shards among parallel workers, as many as the work needs.

Every minute the tick counts, shard by shard, the rows coming due before the next tick (up to
``rows_per_worker`` a shard), and hands the shards out in slices: one worker for every
``rows_per_worker`` rows, at least one (rows created during the minute are found by whoever holds their
shard), at most ``max_workers``. Each worker runs the engine over its slice until the next tick. A quiet
minute costs one worker; a burst gets many, each with its own connections, CPU and sends in flight.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from scheduled_comms.models.dispatch import DispatchSlice
from scheduled_comms.observability import logger, metrics
from scheduled_comms.ports import DispatchStore, WorkQueue


@dataclass(frozen=True)
class FanOutConfig:
    max_workers: int = 8
    rows_per_worker: int = 500
    look_ahead_seconds: float = 60


@dataclass(frozen=True)
class FanOutReport:
    due_seen: int
    slices: tuple[tuple[int, ...], ...]
    refused: int
    unread_shards: int

    def summary(self) -> dict[str, Any]:
        return {
            "due_seen": self.due_seen,
            "workers": len(self.slices) - self.refused,
            "slices": [list(shards) for shards in self.slices],
            "refused": self.refused,
            "unread_shards": self.unread_shards,
        }


def plan_slices(due_counts: Sequence[int], config: FanOutConfig) -> list[tuple[int, ...]]:
    """Shards (by index into ``due_counts``) in slices: as many as the rows need, each about as busy.

    The busiest shard goes first to the least busy slice (of those as busy, the one with fewest shards, so
    rows created during the minute are spread too), so two backlogs do not land on one worker.
    """
    shards = len(due_counts)
    workers = max(1, min(config.max_workers, shards, math.ceil(sum(due_counts) / config.rows_per_worker)))
    loads = [(0, 0, n) for n in range(workers)]
    members: list[list[int]] = [[] for _ in range(workers)]
    for shard in sorted(range(shards), key=lambda s: (-due_counts[s], s)):
        load, size, n = heapq.heappop(loads)
        members[n].append(shard)
        heapq.heappush(loads, (load + due_counts[shard], size + 1, n))
    return [tuple(sorted(group)) for group in members]


def fan_out(
    store: DispatchStore, queue: WorkQueue, now: datetime, config: FanOutConfig, single_pass: bool = False
) -> FanOutReport:
    """Count what comes due before the next tick in each shard, and hand the shards out in slices."""
    until = now + timedelta(seconds=config.look_ahead_seconds)
    counts, unread = [], 0
    for shard in range(store.shard_count):
        try:
            counts.append(len(store.due(shard, now=now, limit=config.rows_per_worker, until=until)))
        except Exception as exc:  # counted as busy: a worker of its own rather than too few
            logger.warning("shard not counted", extra={"shard": shard, "error_type": type(exc).__name__})
            counts.append(config.rows_per_worker)
            unread += 1
    slices = plan_slices(counts, config)
    refused = queue.hand_out([DispatchSlice(at=now, shards=shards, single_pass=single_pass) for shards in slices])
    metrics.add_metric(name="DispatchWorkers", unit="Count", value=len(slices) - refused)
    if refused:
        metrics.add_metric(name="DispatchSlicesRefused", unit="Count", value=refused)
    return FanOutReport(sum(counts), tuple(slices), refused, unread)
