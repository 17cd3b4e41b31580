"""Pacing sends to quotas every worker shares, so a burst waits its turn instead of being throttled.

SES, SNS and voice providers refuse sends above an account quota (SES starts at 14 a second), and a
company may be held to a quota of its own so one company's burst does not take a provider's whole
quota. A send first takes a slot on its company's schedule (when there is a company quota), then one on
its provider's. The schedules live in the table (``RateBuckets``), shared by every worker of every tick;
each worker reserves a few slots at once (about ``batch_seconds`` of the quota, at most one per send it
can have in flight), so a send costs a fraction of a write, and hands them to its own sends in turn.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from scheduled_comms.models.dispatch import RateScope
from scheduled_comms.models.domain import Channel, Communication, SendResult
from scheduled_comms.observability import logger
from scheduled_comms.ports import RateBuckets, Sender

PROVIDERS = {
    Channel.EMAIL: "ses",
    Channel.SMS: "sns",
    Channel.VOICE_CALL: "voice",
    Channel.PUSH: "sns_push",
    Channel.IN_APP: "in_app",
}


@dataclass(frozen=True)
class SendQuotas:
    """Sends a second per provider (by channel) and per company on each channel; 0 or absent: no quota."""

    per_provider: dict[Channel, float] = field(default_factory=dict)
    per_company: float = 0.0

    def scopes(self, row: Communication) -> list[tuple[RateScope, float]]:
        provider = PROVIDERS[row.channel]
        found = []
        if self.per_company > 0:
            found.append((RateScope(provider, row.company_id), self.per_company))
        if (rate := self.per_provider.get(row.channel, 0.0)) > 0:
            found.append((RateScope(provider), rate))
        return found


@dataclass
class _Reservation:
    lock: threading.Lock = field(default_factory=threading.Lock)
    start: float = 0.0
    count: int = 0
    used: int = 0


class SharedRateLimiter:
    """Hands out send slots of shared schedules, reserving them a batch at a time."""

    def __init__(
        self,
        buckets: RateBuckets,
        max_batch: int,
        batch_seconds: float = 0.2,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._buckets = buckets
        self._max_batch = max(1, max_batch)
        self._batch_seconds = batch_seconds
        self._clock = clock
        self._sleep = sleep
        self._reservations: dict[RateScope, _Reservation] = {}
        self._lock = threading.Lock()

    def batch(self, rate: float) -> int:
        """Slots reserved at once: about ``batch_seconds`` of the quota, at most ``max_batch``."""
        return max(1, min(self._max_batch, round(rate * self._batch_seconds)))

    def acquire(self, scope: RateScope, rate: float) -> float:
        """Wait for the next slot of ``scope``'s schedule; returns the slot's time (epoch seconds)."""
        with self._lock:
            reservation = self._reservations.setdefault(scope, _Reservation())
        with reservation.lock:
            now = self._clock()
            # A slot may be spent a little late (up to ``batch_seconds``, or one interval), so a worker whose
            # sends come a few at a time still uses its batch; one left further behind is lost, not spent:
            # sends in any window then stay within the quota's rate over the window plus that lateness.
            late = max(1 / rate, self._batch_seconds)
            reservation.used = max(reservation.used, math.ceil((now - late - reservation.start) * rate - 1e-9))
            while reservation.used >= reservation.count:
                reservation.start = self._buckets.reserve(scope, rate, self.batch(rate), now)
                reservation.count = self.batch(rate)
                reservation.used = max(0, math.ceil((now - late - reservation.start) * rate - 1e-9))
            slot = reservation.start + reservation.used / rate
            reservation.used += 1
        wait = slot - self._clock()
        if wait > 0:
            self._sleep(wait)
        return slot


class PacedSender:
    """A ``Sender`` whose sends keep to their company's and their provider's shared quotas."""

    def __init__(self, sender: Sender, limiter: SharedRateLimiter, quotas: SendQuotas) -> None:
        self._sender = sender
        self._limiter = limiter
        self._quotas = quotas

    def send(self, row: Communication) -> SendResult:
        for scope, rate in self._quotas.scopes(row):
            try:
                self._limiter.acquire(scope, rate)
            except Exception as exc:  # the quota's table did not answer: send unpaced (a refusal costs no attempt)
                logger.warning(
                    "send quota not reserved; sending unpaced",
                    extra={"provider": scope.provider, "error_type": type(exc).__name__},
                )
        return self._sender.send(row)
