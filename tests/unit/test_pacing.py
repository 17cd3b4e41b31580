"""Pacing sends to shared quotas: slots reserved a batch at a time from a schedule, on a fake clock."""

from __future__ import annotations

from itertools import pairwise

import pytest
from scheduled_comms.logic.pacing import PacedSender, SendQuotas, SharedRateLimiter
from scheduled_comms.models.dispatch import RateScope
from scheduled_comms.models.domain import Channel, Communication, SendResult

from tests.unit.test_dispatch_logic import FakeClock as Clock
from tests.unit.test_dispatch_logic import make_row

SES = RateScope("ses")


class Schedules:
    """``RateBuckets`` in memory, with the adapter's rules: an idle schedule restarts at ``now``."""

    def __init__(self) -> None:
        self.next_slot: dict[RateScope, float] = {}
        self.reservations: list[tuple[RateScope, int]] = []

    def reserve(self, scope: RateScope, rate: float, count: int, now: float) -> float:
        self.reservations.append((scope, count))
        start = max(now, self.next_slot.get(scope, now))
        self.next_slot[scope] = start + count / rate
        return start


def limiter(clock: Clock, schedules: Schedules, max_batch: int = 16) -> SharedRateLimiter:
    return SharedRateLimiter(schedules, max_batch=max_batch, clock=clock.monotonic, sleep=clock.sleep)


def test_a_burst_is_spread_at_the_rate_with_one_reservation_per_batch():
    clock, schedules = Clock(), Schedules()
    pacer = limiter(clock, schedules)
    sent_at = []

    for _ in range(70):
        pacer.acquire(SES, 14)
        sent_at.append(clock.now)

    assert sent_at[0] == 0.0
    assert all(abs((b - a) - 1 / 14) < 1e-9 for a, b in pairwise(sent_at)), "one slot every 1/14 s, no burst"
    assert [count for _, count in schedules.reservations] == [3] * 24, "0.2 s of the quota at a time"


def test_two_limiters_sharing_a_schedule_together_keep_to_its_rate():
    clock, schedules = Clock(), Schedules()
    first, second = limiter(clock, schedules), limiter(clock, schedules)
    slots = []

    for _ in range(30):
        for pacer in (first, second):
            before = clock.now
            slots.append(pacer.acquire(SES, 10))
            clock.now = before  # each worker waits in its own thread: the clock stands still for the other

    slots.sort()
    assert len(set(round(s, 9) for s in slots)) == 60, "no slot handed out twice"
    assert slots[-1] >= 59 / 10 - 1e-9, "sixty sends take six seconds at ten a second, however many workers"


def test_slots_left_behind_are_lost_not_spent_late():
    clock, schedules = Clock(), Schedules()
    pacer = limiter(clock, schedules)
    pacer.acquire(SES, 10)  # reserves two slots: 0.0 and 0.1
    clock.now = 5.0

    slot = pacer.acquire(SES, 10)

    assert slot == 5.0 and schedules.reservations == [(SES, 2), (SES, 2)], "a fresh reservation, not the old slot"


def test_the_batch_is_a_fifth_of_a_second_of_the_quota_at_most_one_per_send_in_flight():
    pacer = limiter(Clock(), Schedules(), max_batch=16)

    assert [pacer.batch(rate) for rate in (1, 14, 20, 1500)] == [1, 3, 4, 16]


class Recorder:
    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.sent: list[tuple[Channel, float]] = []

    def send(self, row: Communication) -> SendResult:
        self.sent.append((row.channel, self.clock.now))
        return SendResult.sent("id")


def test_each_channel_keeps_its_own_rate_and_an_unpaced_channel_never_waits():
    clock, schedules = Clock(), Schedules()
    recorder = Recorder(clock)
    sender = PacedSender(recorder, limiter(clock, schedules), SendQuotas(per_provider={Channel.EMAIL: 1}))

    for _ in range(3):
        sender.send(make_row(channel=Channel.EMAIL))
    sender.send(make_row(channel=Channel.SMS, payload={"to_number": "+14155550123", "message_body": "hi"}))

    assert recorder.sent == [(Channel.EMAIL, 0.0), (Channel.EMAIL, 1.0), (Channel.EMAIL, 2.0), (Channel.SMS, 2.0)]


def test_a_company_quota_holds_its_company_and_leaves_the_others_alone():
    clock, schedules = Clock(), Schedules()
    recorder = Recorder(clock)
    quotas = SendQuotas(per_provider={Channel.EMAIL: 100}, per_company=2)
    sender = PacedSender(recorder, limiter(clock, schedules), quotas)

    for _ in range(4):
        sender.send(make_row(channel=Channel.EMAIL, company_id="busy"))
    busy_done = clock.now
    sender.send(make_row(channel=Channel.EMAIL, company_id="quiet"))

    assert busy_done == pytest.approx(1.5), "four sends at two a second"
    assert {scope for scope, _ in schedules.reservations} == {RateScope("ses", "busy"), RateScope("ses", "quiet"), SES}


class Unreachable:
    def reserve(self, scope: RateScope, rate: float, count: int, now: float) -> float:
        raise ConnectionError("table unreachable")


def test_a_quota_the_table_cannot_reserve_does_not_stop_the_send():
    clock = Clock()
    recorder = Recorder(clock)
    sender = PacedSender(
        recorder,
        SharedRateLimiter(Unreachable(), max_batch=4, clock=clock.monotonic, sleep=clock.sleep),
        SendQuotas(per_provider={Channel.EMAIL: 1}),
    )

    sender.send(make_row(channel=Channel.EMAIL))

    assert recorder.sent == [(Channel.EMAIL, 0.0)]
