"""Pacing sends to a provider's quota, so a burst waits its turn instead of being throttled into backoff.

SES, SNS and voice providers refuse sends above an account quota (SES starts at 14 a second). A refused
send costs an attempt and a backoff of a minute or more; a send that waits a few milliseconds for its
turn costs nothing. Each channel's sends go through a token bucket at its configured rate.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from scheduled_comms.models.domain import Channel, Communication, SendResult
from scheduled_comms.ports import Sender


class TokenBucket:
    """``rate`` sends a second on average, at most ``burst`` at once; ``acquire`` waits for a token."""

    def __init__(
        self,
        rate: float,
        burst: float | None = None,
        monotonic: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._rate = rate
        self._burst = burst if burst is not None else max(1.0, rate)
        self._tokens = self._burst
        self._updated = monotonic()
        self._monotonic = monotonic
        self._sleep = sleep
        self._lock = threading.Lock()

    def acquire(self) -> float:
        """Take one token, waiting for it if none is left; returns the seconds waited."""
        with self._lock:
            now = self._monotonic()
            self._tokens = min(self._burst, self._tokens + (now - self._updated) * self._rate)
            self._updated = now
            self._tokens -= 1  # taken now; a negative balance is the queue of sends waiting their turn
            wait = -self._tokens / self._rate if self._tokens < 0 else 0.0
        if wait > 0:
            self._sleep(wait)
        return wait


class PacedSender:
    """A ``Sender`` whose sends of each channel keep to that channel's rate (channels without one are not paced)."""

    def __init__(self, sender: Sender, buckets: dict[Channel, TokenBucket]) -> None:
        self._sender = sender
        self._buckets = buckets

    def send(self, row: Communication) -> SendResult:
        bucket = self._buckets.get(row.channel)
        if bucket is not None:
            bucket.acquire()
        return self._sender.send(row)
