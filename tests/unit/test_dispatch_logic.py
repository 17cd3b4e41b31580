"""The tick's decisions and its polling loop, with fakes for the store and senders."""

from __future__ import annotations

import random
import threading
from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import given
from hypothesis import strategies as st
from scheduled_comms.logic.dispatch.cadence import next_cadence_row
from scheduled_comms.logic.dispatch.engine import DispatchConfig, Dispatcher
from scheduled_comms.logic.dispatch.policy import OUTCOME_UNKNOWN, Fail, Hold, Send, Skip, backoff_delay, decide
from scheduled_comms.logic.dispatch.report import RowOutcome, TickReport
from scheduled_comms.models.business_hours import BusinessHours, Holidays
from scheduled_comms.models.domain import Channel, Communication, Delivery, DueRow, SendResult, Source, Status

T0 = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)  # a Monday


def make_row(**changes: Any) -> Communication:
    base = {
        "id": f"01a209ba-22c7-7214-ac0f-{random.randrange(10**12):012d}",
        "company_id": "c",
        "channel": Channel.EMAIL,
        "status": Status.DISPATCHING,
        "scheduled_for": T0,
        "payload": {"to_email": "a@example.com", "subject": "s", "html_body": "b"},
        "attempt_count": 1,
        "max_attempts": 3,
        "created_at": T0,
        "updated_at": T0,
    }
    return Communication(**{**base, **changes})


def test_decide_sends_a_plain_due_row():
    assert decide(make_row(), T0, None) == Send()


def test_decide_holds_outside_business_hours_and_keeps_the_window_start():
    saturday = datetime(2026, 11, 28, 12, tzinfo=UTC)
    assert decide(make_row(respect_business_hours=True), saturday, BusinessHours()) == Hold(
        datetime(2026, 11, 30, 9, tzinfo=UTC)
    )


def test_decide_skips_expired_rows_and_holds_that_would_outlive_the_policy():
    row = make_row(cancel_policy={"expire_after_minutes": 30})
    assert isinstance(decide(row, T0 + timedelta(minutes=31), None), Skip)
    friday_evening = datetime(2026, 11, 27, 18, tzinfo=UTC)
    held = make_row(
        respect_business_hours=True, cancel_policy={"expire_after_minutes": 30}, scheduled_for=friday_evening
    )
    decision = decide(held, friday_evening, BusinessHours())
    assert isinstance(decision, Skip) and "business hours" in decision.reason


def test_decide_fails_a_row_whose_attempts_are_used_up():
    assert isinstance(decide(make_row(attempt_count=4, max_attempts=3), T0, None), Fail)


def test_decide_fails_an_at_most_once_row_whose_started_send_has_no_outcome():
    started = make_row(delivery=Delivery.AT_MOST_ONCE, send_started_attempt=1, attempt_count=2)
    assert decide(started, T0, None) == Fail(OUTCOME_UNKNOWN)
    # Even on its last attempt, the unknown outcome is the reason given.
    assert decide(started.model_copy(update={"attempt_count": 4, "max_attempts": 3}), T0, None) == Fail(OUTCOME_UNKNOWN)


def test_decide_ignores_the_send_mark_of_rows_it_does_not_apply_to():
    assert decide(make_row(send_started_attempt=1, attempt_count=2), T0, None) == Send()
    voice = make_row(channel=Channel.VOICE_CALL, delivery=Delivery.AT_MOST_ONCE, send_started_attempt=1)
    assert decide(voice, T0, None) == Send()


def test_the_report_counts_claims_apart_from_races_and_store_errors_under_the_tick_s_names():
    report = TickReport()
    for outcome in (RowOutcome.DISPATCHED, RowOutcome.TAKEN_OVER, RowOutcome.LOST, RowOutcome.STORE_ERROR):
        report.count(outcome, 2.0 if outcome is RowOutcome.DISPATCHED else None)

    assert report.summary() == {
        "claimed": 2,
        **dict.fromkeys(["dispatched", "taken_over", "lost_races", "store_errors"], 1),
        **dict.fromkeys(["retried", "throttled", "failed", "skipped", "held", "fenced_out", "passes"], 0),
        "max_lateness_seconds": 2.0,
    }


@given(attempt=st.integers(1, 30), seed=st.integers(0, 2**32))
def test_backoff_grows_exponentially_within_its_jitter_and_cap(attempt, seed):
    delay = backoff_delay(attempt, 60, 3600, random.Random(seed))
    ceiling = min(3600, 60 * 2 ** (attempt - 1))
    assert ceiling / 2 <= delay <= ceiling


def test_cadence_rows_follow_the_delays_and_stop_at_max_attempts():
    follow_ups = {
        "max_attempts": 3,
        "follow_up_delays": [0.5, 24],
        "voice_agent_outbound_config_id": "v2",
        "to_number": "+61400000000",
        "respect_business_hours": False,
        "contact_id": "k2",
    }
    first = make_row(
        channel=Channel.VOICE_CALL,
        respect_business_hours=True,
        contact_id="k1",
        payload={
            "voice_agent_outbound_config_id": "v1",
            "to_number": "+61411111111",
            "dynamic_variables": {"name": "Sam"},
            "follow_ups": follow_ups,
        },
    )

    second = next_cadence_row(first, T0)
    assert second is not None
    third = next_cadence_row(second, T0 + timedelta(hours=1))

    assert second.scheduled_for == T0 + timedelta(minutes=30)
    assert (second.cadence_id, second.cadence_attempt, second.source) == (first.id, 2, Source.CADENCE)
    assert second.payload["voice_agent_outbound_config_id"] == "v2"
    assert second.payload["dynamic_variables"] == {"name": "Sam"}
    assert second.respect_business_hours is False
    assert second.contact_id == "k2"
    assert third is not None and third.scheduled_for == T0 + timedelta(hours=25) and third.cadence_attempt == 3
    assert next_cadence_row(third, T0) is None


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


class FakeStore:
    """An in-memory table: rows by id, claims and fenced transitions as DynamoDB would do them."""

    shard_count = 2

    def __init__(self, rows: list[Communication]) -> None:
        self.rows = {row.id: row for row in rows}

    def due(self, shard: int, now: datetime, limit: int, until: datetime | None = None) -> list[DueRow]:
        return [
            DueRow(r.company_id, r.id, r.channel, r.scheduled_for)
            for r in self.rows.values()
            if r.status is Status.PENDING and r.scheduled_for <= (until or now) and hash(r.id) % 2 == shard
        ][:limit]

    def claim(self, key: DueRow, now: datetime, lease_until: datetime) -> Communication | None:
        row = self.rows[key.row_id]
        if row.status is not Status.PENDING or row.scheduled_for > now:
            return None
        claimed = row.model_copy(
            update={"status": Status.DISPATCHING, "attempt_count": row.attempt_count + 1, "lease_until": lease_until}
        )
        self.rows[key.row_id] = claimed
        return claimed

    def take_over(self, key: DueRow, now: datetime, lease_until: datetime) -> Communication | None:
        return None

    def transition(
        self,
        current: Communication,
        updated: Communication,
        also_create: Communication | None = None,
        refund_credit: bool = False,
    ) -> bool:
        stored = self.rows[current.id]
        if stored.status is not Status.DISPATCHING or stored.attempt_count != current.attempt_count:
            return False
        self.rows[current.id] = updated
        if also_create is not None:
            self.rows[also_create.id] = also_create
        return True


class RecordingSender:
    def __init__(self, clock: FakeClock) -> None:
        self.clock = clock
        self.sent: list[tuple[str, float]] = []

    def send(self, row: Communication) -> SendResult:
        self.sent.append((row.id, self.clock.now))
        return SendResult.sent(f"msg-{row.id[-4:]}")


def dispatcher(store: FakeStore, clock: FakeClock, sender: RecordingSender) -> Dispatcher:
    config = DispatchConfig(poll_step_seconds=5, tick_interval_seconds=60, reserve_seconds=20, concurrency=4)
    hours = type(
        "Hours",
        (),
        {"business_hours": lambda self, company: BusinessHours(), "holidays": lambda self, company: Holidays()},
    )()
    return Dispatcher(store, sender, hours, config, rng=random.Random(1), monotonic=clock.monotonic, sleep=clock.sleep)


def test_tick_reads_ahead_so_rows_go_out_at_the_instant_they_come_due():
    clock = FakeClock()
    offsets = [0, 7, 23, 41, 52]
    rows = [make_row(status=Status.PENDING, attempt_count=0, scheduled_for=T0 + timedelta(seconds=s)) for s in offsets]
    store, sender = FakeStore(rows), RecordingSender(clock)

    report = dispatcher(store, clock, sender).run(T0, remaining_seconds=lambda: 90 - clock.now)

    sent_at = dict(sender.sent)
    for row, offset in zip(rows, offsets, strict=True):
        assert sent_at[row.id] == offset, "read one pass ahead and sent at its due instant, not at the next poll"
    assert report.counts[RowOutcome.DISPATCHED] == 5
    assert report.lateness_seconds == [0.0] * 5
    assert 11 <= report.passes <= 12  # every 5 s until the next tick starts
    assert all(r.status is Status.DISPATCHED for r in store.rows.values())


def test_tick_stops_claiming_when_only_its_reserve_of_time_is_left():
    clock = FakeClock()
    rows = [make_row(status=Status.PENDING, attempt_count=0) for _ in range(10)]
    store, sender = FakeStore(rows), RecordingSender(clock)

    report = dispatcher(store, clock, sender).run(T0, remaining_seconds=lambda: 19.0)

    assert report.claimed == 0
    assert all(r.status is Status.PENDING for r in store.rows.values()), "left for the next tick, not lost"


def test_a_fenced_out_tick_writes_nothing():
    clock = FakeClock()
    row = make_row(status=Status.PENDING, attempt_count=0)
    store = FakeStore([row])
    sender = RecordingSender(clock)

    class Interloper(RecordingSender):
        def send(self, claimed: Communication) -> SendResult:
            # While this tick is sending, another takes the row over (its lease had expired).
            store.rows[claimed.id] = claimed.model_copy(update={"attempt_count": claimed.attempt_count + 1})
            return super().send(claimed)

    report = dispatcher(store, clock, Interloper(clock)).run(T0, remaining_seconds=lambda: 90.0, single_pass=True)

    assert report.counts[RowOutcome.FENCED_OUT] == 1
    assert store.rows[row.id].status is Status.DISPATCHING
    assert sender.sent == []


class Throttled(Exception):
    """What a DynamoDB call raises once botocore has run out of retries."""


class FlakyStore(FakeStore):
    """Raises on the calls named in ``failures`` (a count each) before behaving again."""

    def __init__(self, rows: list[Communication], **failures: int) -> None:
        super().__init__(rows)
        self.failures = failures

    def _maybe_fail(self, name: str) -> None:
        if self.failures.get(name, 0) > 0:
            self.failures[name] -= 1
            raise Throttled(name)

    def due(self, shard: int, now: datetime, limit: int, until: datetime | None = None) -> list[DueRow]:
        self._maybe_fail("due")
        return super().due(shard, now, limit, until)

    def claim(self, key: DueRow, now: datetime, lease_until: datetime) -> Communication | None:
        self._maybe_fail("claim")
        return super().claim(key, now, lease_until)

    def transition(
        self,
        current: Communication,
        updated: Communication,
        also_create: Communication | None = None,
        refund_credit: bool = False,
    ) -> bool:
        self._maybe_fail("transition")
        return super().transition(current, updated, also_create, refund_credit)


def test_table_errors_on_reads_and_claims_leave_rows_due_and_do_not_end_the_tick():
    clock = FakeClock()
    rows = [make_row(status=Status.PENDING, attempt_count=0) for _ in range(6)]
    store, sender = FlakyStore(rows, due=1, claim=2), RecordingSender(clock)

    report = dispatcher(store, clock, sender).run(T0, remaining_seconds=lambda: 90 - clock.now)

    assert report.counts[RowOutcome.STORE_ERROR] == 3
    assert report.counts[RowOutcome.DISPATCHED] == 6, "the rows a failed read or claim left behind went on a later pass"
    assert sorted(row_id for row_id, _ in sender.sent) == sorted(r.id for r in rows)
    assert all(r.status is Status.DISPATCHED for r in store.rows.values())


def test_recording_a_sent_row_is_retried_rather_than_sending_it_again():
    clock = FakeClock()
    row = make_row(status=Status.PENDING, attempt_count=0)
    store, sender = FlakyStore([row], transition=2), RecordingSender(clock)

    report = dispatcher(store, clock, sender).run(T0, remaining_seconds=lambda: 90.0, single_pass=True)

    assert report.counts[RowOutcome.DISPATCHED] == 1
    assert [row_id for row_id, _ in sender.sent] == [row.id]
    assert store.rows[row.id].status is Status.DISPATCHED
    assert store.rows[row.id].attempt_count == 1


def test_a_row_whose_outcome_cannot_be_recorded_keeps_its_lease_for_a_takeover():
    clock = FakeClock()
    row = make_row(status=Status.PENDING, attempt_count=0)
    store, sender = FlakyStore([row], transition=99), RecordingSender(clock)

    report = dispatcher(store, clock, sender).run(T0, remaining_seconds=lambda: 90.0, single_pass=True)

    assert report.counts[RowOutcome.FENCED_OUT] == 1
    stored = store.rows[row.id]
    assert stored.status is Status.DISPATCHING and stored.lease_until is not None, "not lost: taken over later"


def test_a_slow_send_holds_up_only_its_own_slot():
    clock = FakeClock()
    rows = [make_row(status=Status.PENDING, attempt_count=0) for _ in range(40)]
    store = FakeStore(rows)
    slow = rows[0].id
    others_sent = threading.Semaphore(0)
    released: list[bool] = []

    class OneSlowSender:
        def send(self, row: Communication) -> SendResult:
            if row.id == slow:
                # Returns once the 39 other rows went out; with sends in lockstep batches it would time out.
                released.append(all(others_sent.acquire(timeout=10) for _ in range(39)))
            else:
                others_sent.release()
            return SendResult.sent(f"msg-{row.id[-4:]}")

    report = dispatcher(store, clock, OneSlowSender()).run(T0, remaining_seconds=lambda: 90.0, single_pass=True)  # type: ignore[arg-type]

    assert released == [True]
    assert report.counts[RowOutcome.DISPATCHED] == 40


def test_lateness_is_measured_at_the_send_not_at_the_start_of_the_pass():
    clock = FakeClock()
    rows = [make_row(status=Status.PENDING, attempt_count=0) for _ in range(3)]

    class SlowSender:
        def send(self, row: Communication) -> SendResult:
            clock.now += 7.0  # every send takes 7 s of the tick's time
            return SendResult.sent(f"msg-{row.id[-4:]}")

    config = DispatchConfig(poll_step_seconds=5, tick_interval_seconds=60, reserve_seconds=20, concurrency=1)
    hours = type(
        "Hours",
        (),
        {"business_hours": lambda self, company: BusinessHours(), "holidays": lambda self, company: Holidays()},
    )()
    report = Dispatcher(FakeStore(rows), SlowSender(), hours, config, monotonic=clock.monotonic, sleep=clock.sleep).run(
        T0, remaining_seconds=lambda: 90.0, single_pass=True
    )

    assert sorted(report.lateness_seconds) == [7.0, 14.0, 21.0]


class ThrottlingSender:
    def send(self, row: Communication) -> SendResult:
        return SendResult.throttled("TooManyRequestsException: Maximum sending rate exceeded.")


def one_look(store: FakeStore, clock: FakeClock) -> Dispatcher:
    """A dispatcher that reads no further than now, so a pass sees each row's first outcome only."""
    config = DispatchConfig(poll_step_seconds=5, tick_interval_seconds=60, reserve_seconds=20, read_ahead_seconds=0)
    hours = type(
        "Hours",
        (),
        {"business_hours": lambda self, company: BusinessHours(), "holidays": lambda self, company: Holidays()},
    )()
    return Dispatcher(store, ThrottlingSender(), hours, config, rng=random.Random(1), monotonic=clock.monotonic)


def test_a_throttled_send_is_due_again_in_seconds_without_spending_an_attempt():
    clock = FakeClock()
    row = make_row(status=Status.PENDING, attempt_count=0)
    store = FakeStore([row])

    report = one_look(store, clock).run(T0, remaining_seconds=lambda: 90.0, single_pass=True)

    stored = store.rows[row.id]
    assert report.counts[RowOutcome.THROTTLED] == 1
    assert (stored.status, stored.attempt_count) == (Status.PENDING, 0)
    assert timedelta(seconds=2) <= stored.scheduled_for - T0 <= timedelta(seconds=8)
    assert stored.last_error == "TooManyRequestsException: Maximum sending rate exceeded."


def test_throttling_an_hour_past_the_row_s_time_spends_attempts_like_any_retry():
    clock = FakeClock()
    row = make_row(status=Status.PENDING, attempt_count=0, scheduled_for=T0 - timedelta(hours=2))
    store = FakeStore([row])

    report = one_look(store, clock).run(T0, remaining_seconds=lambda: 90.0, single_pass=True)

    stored = store.rows[row.id]
    assert report.counts[RowOutcome.RETRIED] == 1
    assert (stored.status, stored.attempt_count) == (Status.PENDING, 1)
    assert stored.scheduled_for - T0 >= timedelta(seconds=30)
