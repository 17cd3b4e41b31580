"""The tick's fan-out: as many workers as the rows coming due need, the shards shared out evenly."""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import given
from hypothesis import strategies as st
from scheduled_comms.logic.dispatch.fanout import FanOutConfig, fan_out, plan_slices
from scheduled_comms.models.dispatch import DispatchSlice
from scheduled_comms.models.domain import Channel, DueRow

CONFIG = FanOutConfig(max_workers=4, rows_per_worker=100)
T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def test_a_quiet_minute_gets_one_worker_holding_every_shard():
    assert plan_slices([0] * 8, CONFIG) == [tuple(range(8))]


def test_a_burst_gets_a_worker_per_rows_per_worker_up_to_the_maximum():
    assert len(plan_slices([30] * 8, CONFIG)) == 3  # 240 rows
    assert len(plan_slices([100] * 8, CONFIG)) == 4  # 800 rows, at most four
    assert len(plan_slices([100] * 2, FanOutConfig(max_workers=8, rows_per_worker=10))) == 2, "no more than shards"


def test_two_backlogs_go_to_two_workers():
    slices = plan_slices([100, 100, 0, 0, 0, 0, 0, 0], FanOutConfig(max_workers=2, rows_per_worker=100))

    assert {0, 1} not in [set(s) & {0, 1} for s in slices]
    assert sorted(len(s) for s in slices) == [4, 4]


@given(st.lists(st.integers(min_value=0, max_value=500), min_size=1, max_size=32), st.integers(1, 12))
def test_every_shard_is_in_exactly_one_slice(counts, workers):
    slices = plan_slices(counts, FanOutConfig(max_workers=workers, rows_per_worker=50))

    assert sorted(shard for group in slices for shard in group) == list(range(len(counts)))
    assert all(slices) and len(slices) <= workers


class Store:
    shard_count = 4

    def __init__(self, counts: list[int], failing: int | None = None) -> None:
        self.counts = counts
        self.failing = failing
        self.asked: list[tuple[int, datetime, int, datetime | None]] = []

    def due(self, shard: int, now: datetime, limit: int, until: datetime | None = None) -> list[DueRow]:
        self.asked.append((shard, now, limit, until))
        if shard == self.failing:
            raise ConnectionError("throttled")
        return [DueRow("c", f"r{shard}-{n}", Channel.EMAIL, now) for n in range(min(limit, self.counts[shard]))]


class Queue:
    def __init__(self, refuse: int = 0) -> None:
        self.slices: list[DispatchSlice] = []
        self.refuse = refuse

    def hand_out(self, slices: list[DispatchSlice]) -> int:
        self.slices.extend(slices)
        return self.refuse


def test_the_tick_counts_the_coming_minute_and_hands_out_slices_at_its_own_time():
    store, queue = Store([250, 0, 0, 10]), Queue()

    report = fan_out(store, queue, T0, FanOutConfig(max_workers=4, rows_per_worker=100, look_ahead_seconds=60))

    assert [(limit, (until - now).total_seconds()) for _, now, limit, until in store.asked] == [(100, 60.0)] * 4
    assert report.due_seen == 110, "a shard is counted up to rows_per_worker"
    assert [s.shards for s in queue.slices] == [(0,), (1, 2, 3)]
    assert {s.at for s in queue.slices} == {T0} and not any(s.single_pass for s in queue.slices)
    assert report.summary()["workers"] == 2


def test_a_shard_that_cannot_be_counted_is_taken_for_busy():
    store, queue = Store([0, 0, 0, 0], failing=2), Queue()

    report = fan_out(store, queue, T0, FanOutConfig(max_workers=4, rows_per_worker=100))

    assert report.unread_shards == 1 and len(queue.slices) == 1 and report.due_seen == 100


def test_refused_slices_are_reported():
    report = fan_out(Store([0] * 4), Queue(refuse=1), T0, CONFIG, single_pass=True)

    assert report.summary()["workers"] == 0 and report.refused == 1
