"""The lateness benchmark's pure pieces: token buckets, partition charges, latency draws, the event loop, the model."""

from __future__ import annotations

import bisect
import math
import statistics
from dataclasses import replace

import pytest
from scheduled_comms.logic.dispatch.report import RowOutcome

from benchmarks.cost_model import Index, TableShape
from benchmarks.fake_aws import LatencyModel, PartitionCapacity, TokenBucket, write_charges
from benchmarks.lateness_model import (
    AnyOf,
    Costs,
    Design,
    Model,
    SimRow,
    Simulation,
    partition_template,
    percentiles,
    shard_of,
)

# -- token buckets --------------------------------------------------------------------------------------


def test_a_bucket_starts_full_and_refuses_what_it_does_not_hold():
    bucket = TokenBucket(rate=10, now=0.0)

    taken = [bucket.try_take(1, now=0.0) for _ in range(11)]

    assert taken == [True] * 10 + [False]


def test_a_bucket_refills_at_its_rate_up_to_its_capacity():
    bucket = TokenBucket(rate=10, now=0.0)
    for _ in range(10):
        bucket.take(1, now=0.0)

    assert bucket.tokens(now=0.25) == pytest.approx(2.5)
    assert bucket.tokens(now=60.0) == 10
    assert bucket.wait(5, now=0.25) == pytest.approx(0.25)


def test_an_amount_above_the_capacity_needs_a_full_bucket_and_leaves_it_in_debt():
    bucket = TokenBucket(rate=1000, now=0.0)

    assert bucket.try_take(1500, now=0.0)
    assert not bucket.try_take(1, now=0.4)  # 500 in debt, 400 back
    assert bucket.try_take(1, now=0.6)


def test_a_request_is_admitted_only_when_every_partition_it_touches_can_pay():
    capacity = PartitionCapacity(write_units=10)
    hot, cold = ("table", "CO#hot"), ("ByStatus", "hot#pending")
    assert capacity.admit("write", {hot: 10}, now=0.0)

    admitted = capacity.admit("write", {cold: 5, hot: 1}, now=0.0)

    assert not admitted
    assert capacity.admit("write", {cold: 10}, now=0.0)  # the refused request took nothing from it


# -- partition charges ------------------------------------------------------------------------------------

SHAPE = TableShape(
    keys=("pk", "sk"),
    indexes=(Index("ByStatus", ("gsi_status", "sk"), None), Index("Due", ("due_shard", "scheduled_for"), ())),
)


def item(status: str, **extra: str) -> dict:
    values = {"pk": "CO#c1", "sk": "SC#r1", "status": status, "gsi_status": f"c1#{status}", **extra}
    return {name: {"S": value} for name, value in values.items()}


def test_a_key_change_in_an_index_charges_the_old_and_the_new_partition():
    before = item("pending", due_shard="pending#3", scheduled_for="2026-11-23T09:00:00Z")
    after = item("dispatching")

    charges = write_charges(SHAPE, "table", before, after)

    assert charges == {
        ("table", "CO#c1"): 1,
        ("ByStatus", "c1#pending"): 1,
        ("ByStatus", "c1#dispatching"): 1,
        ("Due", "pending#3"): 1,
    }


def test_a_write_pays_for_the_larger_image_in_whole_kilobytes_and_a_transaction_twice():
    before = item("pending", body="x" * 1500)
    after = item("pending", body="x" * 2500)

    charges = write_charges(SHAPE, "table", before, after, factor=2)

    assert charges[("table", "CO#c1")] == 2 * 3
    assert charges[("ByStatus", "c1#pending")] == 3  # an entry changed in place: its partition once


def test_partition_values_become_templates_of_company_row_and_shard():
    company, row = "0b9e7c1e-1111-4222-8333-444455556666", "019a2b3c-4d5e-7f60-8a1b-2c3d4e5f6a7b"

    assert partition_template(f"CO#{company}", company) == "CO#{company}"
    assert partition_template(f"{company}#dispatching#email", company) == "{company}#dispatching#email"
    assert partition_template(f"SC#{row}", company) == "SC#{row}"
    assert partition_template("pending#3", company) == "pending#{shard}"


# -- latency draws --------------------------------------------------------------------------------------------


def test_latency_draws_repeat_with_their_seed_and_differ_without_it():
    first, again, other = LatencyModel(seed=7), LatencyModel(seed=7), LatencyModel(seed=8)

    draws = [first.draw("sesv2.SendEmail") for _ in range(50)]

    assert draws == [again.draw("sesv2.SendEmail") for _ in range(50)]
    assert draws != [other.draw("sesv2.SendEmail") for _ in range(50)]


def test_latency_draws_centre_on_the_call_s_median_and_scale_with_it():
    model, slower = LatencyModel(seed=3), LatencyModel(seed=3, scale=4)

    ses = statistics.median(model.draw("sesv2.SendEmail") for _ in range(4001))
    write = statistics.median(model.draw("dynamodb.UpdateItem") for _ in range(4001))
    query = statistics.median(model.draw("dynamodb.Query") for _ in range(4001))

    assert ses == pytest.approx(0.045, rel=0.05)
    assert write == pytest.approx(0.007, rel=0.05)
    assert query == pytest.approx(0.006, rel=0.05)
    assert slower.draw("sns.Publish") == pytest.approx(4 * LatencyModel(seed=3).draw("sns.Publish"))


# -- the event loop ------------------------------------------------------------------------------------------


def test_events_run_in_time_order_and_those_at_one_instant_in_the_order_scheduled():
    simulation, seen = Simulation(), []
    for label, when in (("c", 2.0), ("a", 1.0), ("b1", 1.5), ("b2", 1.5), ("b3", 1.5)):
        simulation.at(when, lambda label=label: seen.append((label, simulation.now)))

    simulation.run()

    assert seen == [("a", 1.0), ("b1", 1.5), ("b2", 1.5), ("b3", 1.5), ("c", 2.0)]


def test_a_process_waits_for_delays_for_other_tasks_and_for_the_first_of_several():
    simulation, log = Simulation(), []

    def sleeper(seconds: float, name: str):
        yield seconds
        return name

    def parent():
        slow, fast = simulation.spawn(sleeper(3, "slow")), simulation.spawn(sleeper(1, "fast"))
        done = yield AnyOf(frozenset({slow, fast}))
        log.append(({t.result for t in done}, simulation.now))
        result = yield slow
        log.append((result, simulation.now))

    simulation.spawn(parent())
    simulation.run()

    assert log == [({"fast"}, 1), ("slow", 3)]


# -- the model ------------------------------------------------------------------------------------------------

COSTS = Costs(
    own={"query": 0.001, "claim": 0.001, "send": 0.001, "finalize": 0.001},
    fake={"query": 0.0, "claim": 0.0, "send": 0.0, "finalize": 0.0},
    per_row=0.0005,
    per_row_fake=0.0,
    charges={
        "claim": [("table|CO#{company}", 1), ("ByStatus|{company}#dispatching", 1), ("Due|pending#{shard}", 1)],
        "finalize": [("table|CO#{company}", 1), ("ByStatus|{company}#dispatching", 1)],
        "lost": [("table|CO#{company}", 1)],
    },
    attempts={"dynamodb": 5, "ses": 3, "sns": 3},
    retries_throttles={"dynamodb": True, "ses": True, "sns": False},
)
DESIGN = Design(
    tick_interval=60,
    poll_step=5,
    timeout=90,
    reserve=20,
    page_size=100,
    shards=8,
    concurrency=16,
    pool_size=10,
    new_connection_seconds=0.015,
    vcpu=0.58,
    backoff_base=60,
    backoff_cap=3600,
    directory_cache_seconds=30,
)


def burst(count: int, seconds: float = 60) -> list[SimRow]:
    return [SimRow(i, "co", seconds * i / count, shard_of(i, DESIGN.shards)) for i in range(count)]


def test_the_model_sends_every_row_once_with_overlapping_workers_racing_for_them():
    model = Model(DESIGN, COSTS, {"ses": 1500}, seed=1)

    outcome = model.run(burst(600, seconds=30), starts=[0.0, 0.0, 0.5])

    assert outcome.counts[RowOutcome.DISPATCHED] == 600  # a row claimed twice would be counted twice
    assert outcome.counts[RowOutcome.LOST] > 0
    assert len(outcome.send_times) == 600
    assert all(0 <= late < math.inf for late in outcome.lateness)


def test_without_pacing_a_quota_below_the_burst_throttles_and_rows_are_sent_again_within_seconds():
    outcome = Model(DESIGN, COSTS, {"ses": 14}, seed=2).run(burst(1000))

    assert outcome.throttled["sesv2.SendEmail"] > 500  # half the rows or more, each throttled at least once
    assert outcome.counts[RowOutcome.THROTTLED] > 0
    assert outcome.counts[RowOutcome.DISPATCHED] == 1000 and outcome.counts[RowOutcome.FAILED] == 0


def test_pacing_at_the_quota_sends_at_the_quota_and_throttles_only_where_ticks_overlap():
    """Pacing per process, without bursts (the design before the shared limiter): only overlapping ticks
    together exceed the quota (the shared limiter, below, removes that)."""
    quota = 2.0  # below the burst's arrival rate (300 rows in a minute)
    unpaced = Model(DESIGN, COSTS, {"ses": quota}, seed=3).run(burst(300))
    paced = Model(replace(DESIGN, pace_per_provider={"ses": quota}), COSTS, {"ses": quota}, seed=3).run(burst(300))

    assert paced.counts[RowOutcome.DISPATCHED] == 300 and paced.counts[RowOutcome.FAILED] == 0
    assert sum(paced.throttled.values()) * 3 < sum(unpaced.throttled.values())
    times = sorted(paced.send_times)
    busiest_second = max(bisect.bisect_right(times, t + 1.0) - i for i, t in enumerate(times))
    assert busiest_second <= 2 * quota  # at most two overlapping ticks, each at the quota


FANNED_OUT = replace(DESIGN, max_workers=8, rows_per_worker=50, shared_limiter=True)


def test_a_burst_is_fanned_out_to_as_many_workers_as_its_rows_need():
    model = Model(FANNED_OUT, COSTS, {"ses": 1500}, seed=4)

    outcome = model.run(burst(300))

    assert model.workers_started[0] == 6, "300 rows coming due, one worker per 50"
    assert outcome.counts[RowOutcome.DISPATCHED] == 300


def test_the_shared_limiter_keeps_every_worker_together_to_the_quota_with_no_throttled_call():
    quota = 2.0  # below the burst's arrival rate (300 rows in a minute), with six workers at once
    model = Model(replace(FANNED_OUT, pace_per_provider={"ses": quota}), COSTS, {"ses": quota}, seed=3)

    outcome = model.run(burst(300))

    assert outcome.counts[RowOutcome.DISPATCHED] == 300 and sum(outcome.throttled.values()) == 0
    times = sorted(outcome.send_times)
    busiest_second = max(bisect.bisect_right(times, t + 1.0) - i for i, t in enumerate(times))
    assert busiest_second <= quota * 1.5, "the quota, and at most half a second of slots spent late"
    assert model.limiter_writes == len(times), "at 2/s a batch is one slot (0.2 s of the quota, rounded up to one)"


def test_a_company_quota_holds_across_workers_below_the_provider_quota():
    model = Model(replace(FANNED_OUT, pace_per_provider={"ses": 1500}, pace_per_company=5.0), COSTS, {"ses": 1500}, 6)

    outcome = model.run(burst(200, seconds=10))

    times = sorted(outcome.send_times)
    assert len(times) == 200 and (times[-1] - times[0]) >= 199 / 5.0 - 0.5


def test_percentiles_are_none_where_they_fall_on_rows_never_sent():
    values = [1.0] * 98 + [2.0, math.inf]

    assert percentiles(values) == {"p50": 1.0, "p99": None, "max": None}
    assert percentiles([0.5, 3.0]) == {"p50": 3.0, "p99": 3.0, "max": 3.0}
