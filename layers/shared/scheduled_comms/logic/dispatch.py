"""The dispatch engine: find due rows, claim them, decide, send, and record the outcome.

One ``Dispatcher.run`` is one tick. It keeps making passes (every ``poll_step_seconds``) until
shortly before the next tick would start, or until the Lambda has only its reserve of time left,
so rows go out seconds after they come due rather than up to a minute later.
"""

from __future__ import annotations

import random
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from functools import partial
from itertools import zip_longest
from typing import Any, Literal

from scheduled_comms.errors import InsufficientCredits
from scheduled_comms.logic.business_hours import next_window_start
from scheduled_comms.models.business_hours import BusinessHours
from scheduled_comms.models.domain import (
    Channel,
    Communication,
    Delivery,
    DueRow,
    SendResult,
    Source,
    Status,
)
from scheduled_comms.models.values import new_id
from scheduled_comms.observability import logger, metrics
from scheduled_comms.ports import BusinessHoursSource, DispatchStore, Sender

NO_CREDIT_REASON = "no credits left to queue this follow-up call"
# The cadence stops once the contact has spoken for this long on a call.
CONVERSATION_SECONDS = 10
# A follow-up call waits (held, not an attempt) while the previous call may still be going on.
OUTCOME_WAIT = timedelta(minutes=30)
OUTCOME_RECHECK = timedelta(minutes=2)
# After a send, recording its outcome is retried this many times (with a short pause) before giving up:
# an at_least_once row the provider accepted but the table never heard of is sent again by whoever takes it over.
RECORD_ATTEMPTS = 3
RECORD_PAUSE_SECONDS = 0.2
# An at_most_once row whose send started but whose outcome was never recorded ends failed with this error.
OUTCOME_UNKNOWN = "outcome_unknown"


def was_conversation(outcome: dict[str, Any] | None) -> bool:
    """The provider's outcome shows the contact answered and spoke for ten seconds or more."""
    return bool(outcome and outcome.get("answered") and outcome.get("talk_seconds", 0) >= CONVERSATION_SECONDS)


@dataclass(frozen=True)
class DispatchConfig:
    lease_seconds: float = 180
    poll_step_seconds: float = 5
    tick_interval_seconds: float = 60
    reserve_seconds: float = 20
    page_size: int = 100
    concurrency: int = 16
    backoff_base_seconds: float = 60
    backoff_cap_seconds: float = 3600
    # A pass also reads the rows coming due this far ahead, and sends each at its due instant
    # (instead of at the next pass); as far ahead as the next pass, so no row waits for a poll.
    read_ahead_seconds: float = 5


COUNTED_OUTCOMES = (
    "dispatched", "retried", "failed", "skipped", "held", "lost_races", "store_errors", "taken_over", "fenced_out"
)  # fmt: skip


@dataclass
class TickReport:
    claimed: int = 0
    dispatched: int = 0
    retried: int = 0
    failed: int = 0
    skipped: int = 0
    held: int = 0
    lost_races: int = 0
    store_errors: int = 0
    taken_over: int = 0
    fenced_out: int = 0
    passes: int = 0
    lateness_seconds: list[float] = field(default_factory=list)

    def record_metrics(self) -> None:
        """One value per outcome and lateness percentiles per tick (not one EMF value per row)."""
        for name in COUNTED_OUTCOMES:
            count = getattr(self, name)
            if count:
                metrics.add_metric(name=f"Rows{name.title().replace('_', '')}", unit="Count", value=count)
        if self.lateness_seconds:
            ordered = sorted(self.lateness_seconds)
            for label, fraction in (("P50", 0.5), ("P99", 0.99), ("Max", 1.0)):
                value = ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]
                metrics.add_metric(name=f"DispatchLateness{label}Seconds", unit="Seconds", value=max(0.0, value))

    def summary(self) -> dict[str, Any]:
        data = asdict(self)
        lateness = sorted(data.pop("lateness_seconds"))
        data["max_lateness_seconds"] = round(lateness[-1], 3) if lateness else None
        return data


Decision = tuple[Literal["send", "hold", "skip", "fail"], Any]
Outcome = tuple[str, Communication | None, float | None]  # (report label, row as written, lateness if sent)
UNCLAIMED = ("lost", "store_errors")  # outcome labels of a claim this tick did not win


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


def decide(row: Communication, now: datetime, hours: BusinessHours | None) -> Decision:
    """What to do with a freshly claimed row at ``now``."""
    if row.send_started_attempt is not None and marks_send_start(row):
        return "fail", OUTCOME_UNKNOWN  # a tick died between starting the send and recording its outcome
    if row.attempt_count > row.max_attempts:
        return "fail", row.last_error or f"no attempts left ({row.max_attempts} allowed)"
    deadline = expiry_of(row)
    if deadline is not None and now > deadline:
        return "skip", f"expired: not sendable within {row.cancel_policy['expire_after_minutes']} minutes of its time"  # type: ignore[index]
    if row.respect_business_hours and hours is not None:
        opens = next_window_start(now, hours, row.timezone)
        if opens is None:
            return "skip", "business hours never open for this row's timezone"
        if opens > now:
            if deadline is not None and opens > deadline:
                return "skip", "expired: business hours open only after its expire_after_minutes"
            return "hold", opens
    return "send", None


def next_cadence_row(row: Communication, now: datetime) -> Communication | None:
    """The next call of a voice cadence, queued ``follow_up_delays[k-1]`` hours after call k went out."""
    follow_ups = row.payload.get("follow_ups") if row.channel is Channel.VOICE_CALL else None
    attempt = row.cadence_attempt or 1
    if not follow_ups or attempt >= follow_ups["max_attempts"]:
        return None
    payload = {
        "voice_agent_outbound_config_id": follow_ups["voice_agent_outbound_config_id"],
        "to_number": follow_ups["to_number"],
        "follow_ups": follow_ups,
    }
    variables = follow_ups.get("dynamic_variables") or row.payload.get("dynamic_variables")
    if variables:
        payload["dynamic_variables"] = variables
    if row.payload.get("metadata"):
        payload["metadata"] = row.payload["metadata"]
    respect = follow_ups.get("respect_business_hours")
    return Communication(
        id=new_id(now),
        company_id=row.company_id,
        channel=Channel.VOICE_CALL,
        status=Status.PENDING,
        scheduled_for=now + timedelta(hours=follow_ups["follow_up_delays"][attempt - 1]),
        timezone=row.timezone,
        respect_business_hours=row.respect_business_hours if respect is None else respect,
        payload=payload,
        contact_id=follow_ups.get("contact_id") or row.contact_id,
        customer_id=follow_ups.get("customer_id") or row.customer_id,
        deal_id=follow_ups.get("deal_id") or row.deal_id,
        related_entity_type=row.related_entity_type,
        related_entity_id=row.related_entity_id,
        cancel_policy=row.cancel_policy,
        max_attempts=row.max_attempts,
        source=Source.CADENCE,
        delivery=row.delivery,
        created_at=now,
        updated_at=now,
        cadence_id=row.cadence_id or row.id,
        cadence_attempt=attempt + 1,
        cadence_previous_id=row.id,
    )


class Dispatcher:
    """One tick's worth of dispatching, with its ports handed in."""

    def __init__(
        self,
        store: DispatchStore,
        sender: Sender,
        hours: BusinessHoursSource,
        config: DispatchConfig,
        rng: random.Random | None = None,
        monotonic: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._store = store
        self._sender = sender
        self._hours = hours
        self._config = config
        self._rng = rng or random.Random()
        self._monotonic = monotonic
        self._sleep = sleep
        self._epoch = (datetime.now(UTC), monotonic())  # replaced by each run's own

    def run(
        self, started_at: datetime, remaining_seconds: Callable[[], float], single_pass: bool = False
    ) -> TickReport:
        """Dispatch what is due as of ``started_at`` and keep polling until the tick's time is up."""
        report = TickReport()
        origin = self._monotonic()
        self._epoch = (started_at, origin)
        stop_at = origin + self._config.tick_interval_seconds  # the next tick takes over from there
        with ThreadPoolExecutor(max_workers=self._config.concurrency, thread_name_prefix="dispatch") as pool:
            while True:
                self._pass(pool, report, remaining_seconds)
                report.passes += 1
                if single_pass:
                    break
                wake = self._monotonic() + self._config.poll_step_seconds
                if (
                    wake >= stop_at
                    or remaining_seconds() - self._config.poll_step_seconds < self._config.reserve_seconds
                ):
                    break
                self._sleep(max(0.0, wake - self._monotonic()))
        report.record_metrics()
        return report

    def _pass(self, pool: ThreadPoolExecutor, report: TickReport, remaining: Callable[[], float]) -> None:
        shards = range(self._store.shard_count)
        limit = self._config.page_size
        while remaining() > self._config.reserve_seconds:
            now = self._clock()
            until = now + timedelta(seconds=self._config.read_ahead_seconds)
            per_shard = self._read_shards(
                pool, partial(self._store.due, now=now, limit=limit, until=until), shards, report
            )
            due = [key for group in zip_longest(*per_shard) for key in group if key is not None]
            if not due:
                return
            ready = [key for key in due if key.due_at <= now]
            # Overlapping ticks see the same due rows; taking them in an order of its own makes each
            # tick mostly claim rows the others are not after, instead of all racing for the same one.
            self._rng.shuffle(ready)
            coming = sorted((key for key in due if key.due_at > now), key=lambda key: key.due_at)
            if not self._claim_all(ready + coming, pool, report, remaining):
                return  # other ticks hold what is due
            # The list ran out, or went stale under other ticks: read what is due now.

    def _claim_all(
        self,
        due: list[DueRow],
        pool: ThreadPoolExecutor,
        report: TickReport,
        remaining: Callable[[], float],
    ) -> bool:
        """Claim and dispatch ``due`` with ``concurrency`` rows in flight, each slot refilled as it frees up.

        A slow send holds up its own slot only. Stops taking new keys when the list runs out, when it has
        gone stale (most of the latest claims lost to other ticks), or when only the reserve of time is
        left (to finish what is held; the next tick takes the rest). Returns whether any claim was won.
        """
        window = self._config.concurrency
        keys = iter(due)
        in_flight: set[Future[Outcome]] = set()
        latest: deque[bool] = deque(maxlen=window)  # whether each of the latest claims was lost
        progressed = False
        while True:
            stale = len(latest) == window and sum(latest) * 2 > window
            while len(in_flight) < window and not stale and remaining() > self._config.reserve_seconds:
                key = next(keys, None)
                if key is None:
                    break
                in_flight.add(pool.submit(self._claim, key))
            if not in_flight:
                return progressed
            done, in_flight = wait(in_flight, return_when=FIRST_COMPLETED)
            outcomes = [future.result() for future in done]
            self._count(report, outcomes)
            for label, _, _ in outcomes:
                latest.append(label in UNCLAIMED)
                progressed = progressed or not latest[-1]

    def _read_shards(
        self, pool: ThreadPoolExecutor, query: Callable[[int], list[DueRow]], shards: range, report: TickReport
    ) -> list[list[DueRow]]:
        """One query per shard; a shard whose query fails (say, throttled past its retries) waits a pass."""

        def read(shard: int) -> list[DueRow] | None:
            try:
                return query(shard)
            except Exception as exc:
                logger.warning("shard not read this pass", extra={"shard": shard, "error_type": type(exc).__name__})
                return None

        found = list(pool.map(read, shards))
        report.store_errors += sum(keys is None for keys in found)
        return [keys or [] for keys in found]

    def _count(self, report: TickReport, outcomes: list[Outcome]) -> None:
        """Count outcomes in the report (their transitions are published from the table's stream)."""
        for label, _, lateness in outcomes:
            if label == "lost":
                report.lost_races += 1
                continue
            if label == "store_errors":
                report.store_errors += 1
                continue
            report.claimed += 1
            setattr(report, label, getattr(report, label) + 1)
            if lateness is not None:
                report.lateness_seconds.append(lateness)

    def _clock(self) -> datetime:
        """The tick's time now (a pass's ``now`` is when the pass began, not when one of its rows was sent)."""
        started_at, origin = self._epoch
        return started_at + timedelta(seconds=self._monotonic() - origin)

    def _lease(self, now: datetime) -> datetime:
        return now + timedelta(seconds=self._config.lease_seconds)

    def _claim(self, key: DueRow) -> Outcome:
        """Claim and dispatch one row, at its due instant if it was read ahead of it."""
        wait_seconds = (key.due_at - self._clock()).total_seconds()
        if wait_seconds > 0:
            self._sleep(wait_seconds)
        now = self._clock()
        if key.lease_expired:
            return self._take_over(key, now)
        try:
            row = self._store.claim(key, now, self._lease(now))
        except Exception as exc:  # unclaimed stays due; a claim that landed unseen is taken over after its lease
            logger.warning("claim not made", extra={"error_type": type(exc).__name__})
            return "store_errors", None, None
        if row is None:
            return "lost", None, None
        return self._dispatch(row, now)

    def _take_over(self, key: DueRow, now: datetime) -> Outcome:
        try:
            row = self._store.take_over(key, now, self._lease(now))
        except Exception as exc:
            logger.warning("takeover not made", extra={"error_type": type(exc).__name__})
            return "store_errors", None, None
        if row is None:
            return "lost", None, None
        logger.warning("lease expired; taking the row over", extra={"communication_id": row.id})
        label, updated, lateness = self._dispatch(row, now)
        return ("taken_over" if label == "dispatched" else label), updated, lateness

    def _dispatch(self, row: Communication, now: datetime) -> Outcome:
        try:
            return self._dispatch_claimed(row, now)
        except Exception as exc:  # one row's trouble must not end the tick for the others
            logger.exception("dispatch failed", extra={"communication_id": row.id, "error_type": type(exc).__name__})
            updated, _, label = self._after_send(row, SendResult.retry(f"internal error: {type(exc).__name__}"), now)
            # A send may have started (an outcome_unknown failure may be what did not get written): keep its mark.
            updated = updated.model_copy(update={"send_started_attempt": row.send_started_attempt})
            try:
                if self._store.transition(row, updated):
                    return label, updated, None
            except Exception:
                logger.exception("could not release the row; its lease will expire", extra={"communication_id": row.id})
            return "fenced_out", None, None

    def _cadence_decision(self, row: Communication, now: datetime) -> Decision | None:
        """Stop a cadence the contact already answered; wait while the previous call may be going on."""
        if not row.cadence_previous_id:
            return None
        previous = self._store.get(row.company_id, row.cadence_previous_id)
        if previous is None:
            return None
        if was_conversation(previous.call_outcome):
            talk = (previous.call_outcome or {}).get("talk_seconds", 0)
            return "skip", f"cadence stopped: the contact spoke for {talk:g}s on call {previous.cadence_attempt or 1}"
        if previous.call_outcome is None and previous.dispatched_at and now - previous.dispatched_at < OUTCOME_WAIT:
            return "hold", now + OUTCOME_RECHECK
        return None

    def _dispatch_claimed(self, row: Communication, now: datetime) -> Outcome:
        hours = self._hours.business_hours(row.company_id) if row.respect_business_hours else None
        action, detail = decide(row, now, hours)
        if action == "send":
            action, detail = self._cadence_decision(row, now) or (action, detail)
        follow_up = None
        sent_at: datetime | None = None
        if action == "hold":
            updated = self._release(
                row,
                now,
                status=Status.PENDING,
                scheduled_for=detail,
                original_scheduled_for=row.intended_time,
                attempt_count=row.attempt_count - 1,
            )
            label = "held"
        elif action == "skip":
            updated = self._release(
                row, now, status=Status.SKIPPED, skip_reason=detail, attempt_count=row.attempt_count - 1
            )
            label = "skipped"
        elif action == "fail":
            updated = self._release(
                row,
                now,
                status=Status.FAILED,
                last_error=detail,
                # An unknown outcome was the previous holder's attempt; this claim made none.
                attempt_count=row.attempt_count - 1
                if detail == OUTCOME_UNKNOWN
                else min(row.attempt_count, row.max_attempts),
            )
            label = "failed"
        else:
            if marks_send_start(row):
                started = row.model_copy(update={"send_started_attempt": row.attempt_count, "updated_at": now})
                try:
                    if not self._store.transition(row, started):
                        return "fenced_out", None, None
                except Exception as exc:
                    return self._release_unsent(started, now, exc)
                row = started
            try:
                result = self._sender.send(row)
                sent_at = self._clock()
            except Exception:
                if row.send_started_attempt is None:
                    raise
                # The provider may have taken the message before the error: sending again could duplicate it.
                logger.exception("send ended in an error; its outcome is unknown", extra={"communication_id": row.id})
                result = SendResult.fail(OUTCOME_UNKNOWN)
            updated, follow_up, label = self._after_send(row, result, now)
        if not self._record(row, updated, follow_up):
            return "fenced_out", None, None
        # Lateness is the send's time against when the row was due: what a recipient sees.
        lateness = (sent_at - row.scheduled_for).total_seconds() if label == "dispatched" and sent_at else None
        logger.info(
            "row dispatched" if label == "dispatched" else f"row {label}",
            extra={"communication_id": row.id, "channel": row.channel.value, "attempt": row.attempt_count},
        )
        return label, updated, lateness

    def _record(self, row: Communication, updated: Communication, follow_up: Communication | None) -> bool:
        """The fenced transition, retried when the table errs: after a send, giving up means sending again.

        A follow-up call costs a credit when it is queued; with none left it is queued ``skipped`` instead.
        """
        attempt = 1
        while True:
            try:
                return self._store.transition(row, updated, also_create=follow_up)
            except InsufficientCredits:
                if follow_up is None or follow_up.status is not Status.PENDING:
                    raise
                follow_up = follow_up.model_copy(update={"status": Status.SKIPPED, "skip_reason": NO_CREDIT_REASON})
            except Exception as exc:
                if attempt >= RECORD_ATTEMPTS:
                    raise
                logger.warning(
                    "outcome not recorded; retrying",
                    extra={"communication_id": row.id, "attempt": attempt, "error_type": type(exc).__name__},
                )
                self._sleep(RECORD_PAUSE_SECONDS * attempt)
                attempt += 1

    def _release_unsent(self, started: Communication, now: datetime, exc: Exception) -> Outcome:
        """The send-started mark did not get written (as far as we know): do not send; retry later.

        The release is written against the marked row, so a mark that landed unseen is removed with it.
        """
        logger.warning(
            "send start not recorded; not sending",
            extra={"communication_id": started.id, "error_type": type(exc).__name__},
        )
        updated, _, label = self._after_send(started, SendResult.retry(f"internal error: {type(exc).__name__}"), now)
        try:
            if self._store.transition(started, updated):
                return label, updated, None
        except Exception:
            logger.exception("could not release the row; its lease will expire", extra={"communication_id": started.id})
        return "fenced_out", None, None

    @staticmethod
    def _release(row: Communication, now: datetime, **changes: Any) -> Communication:
        return row.model_copy(update={"lease_until": None, "updated_at": now, **changes})

    def _after_send(
        self, row: Communication, result: SendResult, now: datetime
    ) -> tuple[Communication, Communication | None, str]:
        if result.outcome == "sent":
            follow_up = next_cadence_row(row, now)
            cadence = {}
            if row.channel is Channel.VOICE_CALL and row.payload.get("follow_ups"):
                cadence = {
                    "cadence_id": row.cadence_id or row.id,
                    "cadence_attempt": row.cadence_attempt or 1,
                    "cadence_next_id": follow_up.id if follow_up else None,
                }
            updated = self._release(
                row,
                now,
                status=Status.DISPATCHED,
                dispatched_at=now,
                dispatched_external_id=result.external_id,
                resend_of_attempt=None,
                send_started_attempt=None,
                **cadence,
            )
            return updated, follow_up, "dispatched"
        if result.outcome == "retry" and row.attempt_count < row.max_attempts:
            delay = backoff_delay(
                row.attempt_count, self._config.backoff_base_seconds, self._config.backoff_cap_seconds, self._rng
            )
            updated = self._release(
                row,
                now,
                status=Status.PENDING,
                last_error=result.error,
                scheduled_for=now + timedelta(seconds=delay),
                original_scheduled_for=row.intended_time,
                # The provider may have placed the call before failing: resend under the same key.
                resend_of_attempt=(row.resend_of_attempt or row.attempt_count)
                if row.channel is Channel.VOICE_CALL
                else None,
                send_started_attempt=None,  # the outcome is recorded: the next claim sends again
            )
            return updated, None, "retried"
        updated = self._release(
            row, now, status=Status.FAILED, last_error=result.error, resend_of_attempt=None, send_started_attempt=None
        )
        return updated, None, "failed"
