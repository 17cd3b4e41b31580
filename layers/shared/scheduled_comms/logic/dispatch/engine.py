"""The dispatch engine: find due rows, claim them, decide, send, and record the outcome.

One ``Dispatcher.run`` is one dispatch worker's share of a tick: the due shards the tick handed it
(``logic/dispatch/fanout.py``). It keeps making passes (every ``poll_step_seconds``) until shortly
before the next tick would start, or until the Lambda has only its reserve of time left, so rows go
out seconds after they come due rather than up to a minute later.
"""

from __future__ import annotations

import random
import time
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial
from itertools import zip_longest
from typing import Any, NamedTuple, Protocol

from scheduled_comms.errors import InsufficientCredits
from scheduled_comms.logic.dispatch.cadence import NO_CREDIT_REASON, cadence_decision, cadence_marks, next_cadence_row
from scheduled_comms.logic.dispatch.policy import (
    OUTCOME_UNKNOWN,
    Decision,
    Fail,
    Hold,
    Send,
    Skip,
    backoff_delay,
    decide,
    marks_send_start,
)
from scheduled_comms.logic.dispatch.report import UNCLAIMED, RowOutcome, TickReport
from scheduled_comms.models.domain import Channel, Communication, DueRow, SendResult, Status
from scheduled_comms.observability import logger
from scheduled_comms.ports import BusinessHoursSource, DispatchStore, Sender

# After a send, recording its outcome is retried this many times (with a short pause) before giving up:
# an at_least_once row the provider accepted but the table never heard of is sent again by whoever takes it over.
RECORD_ATTEMPTS = 3
RECORD_PAUSE_SECONDS = 0.2
# A send the provider refused for its rate is made again a few seconds later without spending an attempt,
# for up to an hour after the row's time; after that (a daily quota, say) it is retried like any error.
THROTTLED_DELAY_SECONDS = (2.0, 8.0)
THROTTLED_FREE_FOR = timedelta(hours=1)


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


class Gate(Protocol):
    """A last say over a row about to be sent (its recipient's protection, its campaign's status): hold or skip
    it, or None to send. The gates are asked in turn; the first that does not send decides."""

    def decide(self, row: Communication, now: datetime) -> Decision | None: ...


class RowResult(NamedTuple):
    outcome: RowOutcome
    lateness: float | None = None  # for a row sent: its send's time against when it was due


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
        gates: Sequence[Gate] = (),
    ) -> None:
        self._gates = gates
        self._store = store
        self._sender = sender
        self._hours = hours
        self._config = config
        self._rng = rng or random.Random()
        self._monotonic = monotonic
        self._sleep = sleep
        self._epoch = (datetime.now(UTC), monotonic())  # replaced by each run's own
        self._shards: Sequence[int] = range(store.shard_count)

    def run(
        self,
        started_at: datetime,
        remaining_seconds: Callable[[], float],
        single_pass: bool = False,
        shards: Sequence[int] | None = None,
    ) -> TickReport:
        """Dispatch what is due as of ``started_at`` in ``shards`` (default: all) and keep polling until
        the tick's time is up."""
        report = TickReport()
        self._shards = range(self._store.shard_count) if shards is None else shards
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
        shards = self._shards
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
        left (to finish what is held; the next tick takes the rest). Returns whether any claim was won and not
        merely held again.
        """
        window = self._config.concurrency
        keys = iter(due)
        in_flight: set[Future[RowResult]] = set()
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
            for future in done:
                outcome, lateness = future.result()
                report.count(outcome, lateness)
                latest.append(outcome in UNCLAIMED)
                # Only holds (a campaign's calls waiting for a slot, say) is no progress: the pass ends and
                # the next one (a poll step later) looks again, instead of this one spinning on them.
                progressed = progressed or outcome not in UNCLAIMED | {RowOutcome.HELD}

    def _read_shards(
        self, pool: ThreadPoolExecutor, query: Callable[[int], list[DueRow]], shards: Sequence[int], report: TickReport
    ) -> list[list[DueRow]]:
        """One query per shard; a shard whose query fails (say, throttled past its retries) waits a pass."""

        def read(shard: int) -> list[DueRow] | None:
            try:
                return query(shard)
            except Exception as exc:
                logger.warning("shard not read this pass", extra={"shard": shard, "error_type": type(exc).__name__})
                return None

        found = list(pool.map(read, shards))
        report.counts[RowOutcome.STORE_ERROR] += sum(keys is None for keys in found)
        return [keys or [] for keys in found]

    def _clock(self) -> datetime:
        """The tick's time now (a pass's ``now`` is when the pass began, not when one of its rows was sent)."""
        started_at, origin = self._epoch
        return started_at + timedelta(seconds=self._monotonic() - origin)

    def _lease(self, now: datetime) -> datetime:
        return now + timedelta(seconds=self._config.lease_seconds)

    def _claim(self, key: DueRow) -> RowResult:
        """Claim and dispatch one row, at its due instant if it was read ahead of it."""
        wait_seconds = (key.due_at - self._clock()).total_seconds()
        if wait_seconds > 0:
            self._sleep(wait_seconds)
        now = self._clock()
        claim = self._store.take_over if key.lease_expired else self._store.claim
        try:
            row = claim(key, now, self._lease(now))
        except Exception as exc:  # unclaimed stays due; a claim that landed unseen is taken over after its lease
            message = "takeover not made" if key.lease_expired else "claim not made"
            logger.warning(message, extra={"error_type": type(exc).__name__})
            return RowResult(RowOutcome.STORE_ERROR)
        if row is None:
            return RowResult(RowOutcome.LOST)
        if not key.lease_expired:
            return self._dispatch(row, now)
        logger.warning("lease expired; taking the row over", extra={"communication_id": row.id})
        outcome, lateness = self._dispatch(row, now)
        return RowResult(RowOutcome.TAKEN_OVER if outcome is RowOutcome.DISPATCHED else outcome, lateness)

    def _dispatch(self, row: Communication, now: datetime) -> RowResult:
        try:
            return self._dispatch_claimed(row, now)
        except Exception as exc:  # one row's trouble must not end the tick for the others
            logger.exception("dispatch failed", extra={"communication_id": row.id, "error_type": type(exc).__name__})
            # A send may have started (an outcome_unknown failure may be what did not get written): keep its mark.
            return self._release_after_error(row, now, exc, send_started_attempt=row.send_started_attempt)

    def _dispatch_claimed(self, row: Communication, now: datetime) -> RowResult:
        hours = self._hours.business_hours(row.company_id) if row.respect_business_hours else None
        holidays = self._hours.holidays(row.company_id) if hours is not None else None
        decision = decide(row, now, hours, holidays)
        for gate in self._gates:
            if not isinstance(decision, Send):
                break
            decision = gate.decide(row, now) or decision
        if isinstance(decision, Send) and row.cadence_previous_id:
            previous = self._store.get(row.company_id, row.cadence_previous_id)
            decision = cadence_decision(previous, now) or decision
        follow_up = None
        refund = False
        sent_at: datetime | None = None
        match decision:
            case Hold(until):
                updated = self._release(
                    row,
                    now,
                    status=Status.PENDING,
                    scheduled_for=until,
                    original_scheduled_for=row.intended_time,
                    attempt_count=row.attempt_count - 1,
                )
                outcome = RowOutcome.HELD
            case Skip(reason, refund):
                updated = self._release(
                    row, now, status=Status.SKIPPED, skip_reason=reason, attempt_count=row.attempt_count - 1
                )
                outcome = RowOutcome.SKIPPED
            case Fail(error):
                updated = self._release(
                    row,
                    now,
                    status=Status.FAILED,
                    last_error=error,
                    # An unknown outcome was the previous holder's attempt; this claim made none.
                    attempt_count=row.attempt_count - 1
                    if error == OUTCOME_UNKNOWN
                    else min(row.attempt_count, row.max_attempts),
                )
                outcome = RowOutcome.FAILED
            case Send():
                if marks_send_start(row):
                    started = row.model_copy(update={"send_started_attempt": row.attempt_count, "updated_at": now})
                    try:
                        if not self._store.transition(row, started):
                            return RowResult(RowOutcome.FENCED_OUT)
                    except Exception as exc:  # as far as we know the mark is not written: do not send
                        logger.warning(
                            "send start not recorded; not sending",
                            extra={"communication_id": row.id, "error_type": type(exc).__name__},
                        )
                        # Released against the marked row, so a mark that landed unseen is removed with it.
                        return self._release_after_error(started, now, exc, send_started_attempt=None)
                    row = started
                try:
                    result = self._sender.send(row)
                    sent_at = self._clock()
                except Exception:
                    if row.send_started_attempt is None:
                        raise
                    # The provider may have taken the message before the error: sending again could duplicate it.
                    logger.exception(
                        "send ended in an error; its outcome is unknown", extra={"communication_id": row.id}
                    )
                    result = SendResult.fail(OUTCOME_UNKNOWN)
                updated, follow_up, outcome = self._after_send(row, result, now)
        if not self._record(row, updated, follow_up, refund):
            return RowResult(RowOutcome.FENCED_OUT)
        # Lateness is the send's time against when the row was due: what a recipient sees.
        lateness = (
            (sent_at - row.scheduled_for).total_seconds() if outcome is RowOutcome.DISPATCHED and sent_at else None
        )
        logger.info(
            f"row {outcome}",
            extra={"communication_id": row.id, "channel": row.channel.value, "attempt": row.attempt_count},
        )
        return RowResult(outcome, lateness)

    def _record(
        self, row: Communication, updated: Communication, follow_up: Communication | None, refund: bool = False
    ) -> bool:
        """The fenced transition, retried when the table errs: after a send, giving up means sending again.

        A follow-up call costs a credit when it is queued; with none left it is queued ``skipped`` instead.
        ``refund``: the row's credit is given back with it.
        """
        attempt = 1
        while True:
            try:
                return self._store.transition(row, updated, also_create=follow_up, refund_credit=refund)
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

    def _release_after_error(
        self, row: Communication, now: datetime, exc: Exception, send_started_attempt: int | None
    ) -> RowResult:
        """Put back for a retry (or fail, on its last attempt) a row whose dispatch ended in ``exc``."""
        updated, _, outcome = self._after_send(row, SendResult.retry(f"internal error: {type(exc).__name__}"), now)
        try:
            if self._store.transition(row, updated.model_copy(update={"send_started_attempt": send_started_attempt})):
                return RowResult(outcome)
        except Exception:
            logger.exception("could not release the row; its lease will expire", extra={"communication_id": row.id})
        return RowResult(RowOutcome.FENCED_OUT)

    @staticmethod
    def _release(row: Communication, now: datetime, **changes: Any) -> Communication:
        return row.model_copy(update={"lease_until": None, "updated_at": now, **changes})

    def _after_send(
        self, row: Communication, result: SendResult, now: datetime
    ) -> tuple[Communication, Communication | None, RowOutcome]:
        updated, follow_up, outcome = self._next_state(row, result, now)
        if result.deliveries is not None:
            updated = updated.model_copy(update={"deliveries": list(result.deliveries)})
        return updated, follow_up, outcome

    def _next_state(
        self, row: Communication, result: SendResult, now: datetime
    ) -> tuple[Communication, Communication | None, RowOutcome]:
        if result.outcome == "sent":
            follow_up = next_cadence_row(row, now)
            updated = self._release(
                row,
                now,
                status=Status.DISPATCHED,
                dispatched_at=now,
                dispatched_external_id=result.external_id,
                resend_of_attempt=None,
                send_started_attempt=None,
                **cadence_marks(row, follow_up),
            )
            return updated, follow_up, RowOutcome.DISPATCHED
        if result.outcome == "throttled" and now - row.intended_time < THROTTLED_FREE_FOR:
            # Nothing was sent: try again in a few seconds, and the attempt does not count.
            updated = self._release(
                row,
                now,
                status=Status.PENDING,
                last_error=result.error,
                scheduled_for=now + timedelta(seconds=self._rng.uniform(*THROTTLED_DELAY_SECONDS)),
                original_scheduled_for=row.intended_time,
                attempt_count=row.attempt_count - 1,
                send_started_attempt=None,
            )
            return updated, None, RowOutcome.THROTTLED
        if result.outcome in ("retry", "throttled") and row.attempt_count < row.max_attempts:
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
            return updated, None, RowOutcome.RETRIED
        updated = self._release(
            row, now, status=Status.FAILED, last_error=result.error, resend_of_attempt=None, send_started_attempt=None
        )
        return updated, None, RowOutcome.FAILED
