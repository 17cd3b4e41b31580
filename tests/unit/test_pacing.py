"""Pacing sends to a provider's quota: a token bucket per channel, on a fake clock."""

from __future__ import annotations

from itertools import pairwise

from scheduled_comms.logic.pacing import PacedSender, TokenBucket
from scheduled_comms.models.domain import Channel, Communication, SendResult

from tests.unit.test_dispatch_logic import FakeClock as Clock
from tests.unit.test_dispatch_logic import make_row


def test_a_burst_beyond_the_bucket_is_spread_at_the_rate():
    clock = Clock()
    bucket = TokenBucket(14, monotonic=clock.monotonic, sleep=clock.sleep)
    sent_at = []

    for _ in range(70):
        bucket.acquire()
        sent_at.append(clock.now)

    assert sent_at[:14] == [0.0] * 14, "a second's worth goes at once"
    assert abs(sent_at[-1] - 56 / 14) < 1e-9, "the rest at 14 a second"
    assert all(b - a <= 1 / 14 + 1e-9 for a, b in pairwise(sent_at[14:]))


def test_an_idle_bucket_refills_only_to_its_burst():
    clock = Clock()
    bucket = TokenBucket(2, burst=2, monotonic=clock.monotonic, sleep=clock.sleep)
    clock.now = 100.0

    waits = [bucket.acquire() for _ in range(3)]

    assert waits == [0.0, 0.0, 0.5]


class Recorder:
    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.sent: list[tuple[Channel, float]] = []

    def send(self, row: Communication) -> SendResult:
        self.sent.append((row.channel, self.clock.now))
        return SendResult.sent("id")


def test_each_channel_keeps_its_own_rate_and_an_unpaced_channel_never_waits():
    clock = Clock()
    recorder = Recorder(clock)
    sender = PacedSender(recorder, {Channel.EMAIL: TokenBucket(1, monotonic=clock.monotonic, sleep=clock.sleep)})

    for _ in range(3):
        sender.send(make_row(channel=Channel.EMAIL))
    sender.send(make_row(channel=Channel.SMS, payload={"to_number": "+14155550123", "message_body": "hi"}))

    assert recorder.sent == [(Channel.EMAIL, 0.0), (Channel.EMAIL, 1.0), (Channel.EMAIL, 2.0), (Channel.SMS, 2.0)]
