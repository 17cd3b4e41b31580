"""What to do with a claimed row: send, hold, skip or fail it; and how long a retry waits."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta

from scheduled_comms.logic.business_hours import next_window_start
from scheduled_comms.models.business_hours import BusinessHours, Holidays
from scheduled_comms.models.domain import Channel, Communication, Delivery

# An at_most_once row whose send started but whose outcome was never recorded ends failed with this error.
OUTCOME_UNKNOWN = "outcome_unknown"


@dataclass(frozen=True)
class Send:
    """Send the row now."""


@dataclass(frozen=True)
class Hold:
    until: datetime  # pending again until then; this claim does not count as an attempt


@dataclass(frozen=True)
class Skip:
    reason: str
    refund: bool = False  # the row's credit is given back with the skip (nothing was, or will be, sent)


@dataclass(frozen=True)
class Fail:
    error: str


Decision = Send | Hold | Skip | Fail


def backoff_delay(attempt: int, base: float, cap: float, rng: random.Random) -> float:
    """Exponential backoff with equal jitter: half the ceiling, plus up to half again at random."""
    ceiling = min(cap, base * 2 ** max(0, attempt - 1))
    return ceiling / 2 + rng.uniform(0, ceiling / 2)


def expiry_of(row: Communication) -> datetime | None:
    minutes = (row.cancel_policy or {}).get("expire_after_minutes")
    return row.intended_time + timedelta(minutes=minutes) if minutes else None


def marks_send_start(row: Communication) -> bool:
    """Whether the tick records that a row's send started before sending it (at_most_once email and SMS).

    Voice calls carry the provider's idempotency key instead: a resend never places a second call.
    """
    return row.delivery is Delivery.AT_MOST_ONCE and row.channel is not Channel.VOICE_CALL


def decide(
    row: Communication, now: datetime, hours: BusinessHours | None, holidays: Holidays | None = None
) -> Decision:
    """What to do with a freshly claimed row at ``now``."""
    if row.send_started_attempt is not None and marks_send_start(row):
        return Fail(OUTCOME_UNKNOWN)  # a tick died between starting the send and recording its outcome
    if row.attempt_count > row.max_attempts:
        return Fail(row.last_error or f"no attempts left ({row.max_attempts} allowed)")
    deadline = expiry_of(row)
    if deadline is not None and now > deadline:
        return Skip(f"expired: not sendable within {row.cancel_policy['expire_after_minutes']} minutes of its time")  # type: ignore[index]
    if row.respect_business_hours and hours is not None:
        opens = next_window_start(now, hours, row.timezone, holidays)
        if opens is None:
            return Skip("business hours never open for this row's timezone")
        if opens > now:
            if deadline is not None and opens > deadline:
                return Skip("expired: business hours open only after its expire_after_minutes")
            return Hold(opens)
    return Send()
