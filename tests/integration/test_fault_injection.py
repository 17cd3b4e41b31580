"""Fault injection: rows through ten concurrent ticks while every step that can fail, does.

CI runs 1,200 rows (``FAULT_TEST_ROWS``); ``make reliability`` runs 10,000. They are split between
the two delivery modes, one run each (600 rows each in CI). A smaller run raises the rarer faults'
rates so that each is still expected at least ``MIN_EXPECTED_HITS`` times in each mode's run.

Each round fires five tick events, each delivered twice (ten overlapping ticks), at a moment of a
simulated clock; rounds go on until every row is terminal. Meanwhile:

- ticks crash (an exception nothing in the service catches, ending the invocation where it hit)
  right after a claim, right after a send before its outcome is recorded, and right after a
  transition's write (before anything else could publish it);
- DynamoDB throttles the tick's queries, claims and writes (botocore retries, then gives up);
- SES throttles and rejects; SNS throttles, fails and rejects;
- the voice provider answers 5xx (before or after placing the call), times out, or answers slowly;
- EventBridge refuses some of the stream consumer's events (its batch is delivered again).

AWS faults are answered in place of moto's, per HTTP attempt, so the clients' own retries see them
as they would on AWS; a DynamoDB fault may come before moto applies the request or after (the write
landed, its answer was lost). The test prints its figures and asserts
that no row is lost or stuck, that races send nothing twice, and that the only duplicates are those
a crash between send and record can cause (at_least_once), and never for voice, where the provider's
idempotency key absorbs them. In at_most_once there are no email/SMS duplicates at all: every email or
SMS a crash hit after its send ends failed with ``outcome_unknown``. Transitions are published from the table's stream, polled after each round as
Lambda would: every row that ended terminal has exactly one event, of its final status, crash or not.
"""

from __future__ import annotations

import json
import os
import random
import threading
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import pytest
from botocore.awsrequest import AWSResponse
from botocore.retries.standard import ExponentialBackoff
from moto.core.botocore_stubber import BotocoreStubber, MockRawResponse
from scheduled_comms import composition
from scheduled_comms.logic.dispatch.policy import OUTCOME_UNKNOWN
from scheduled_comms.models.domain import TERMINAL, Channel, Delivery, Status
from scheduled_comms.models.values import parse_instant
from scheduled_comms_cli.outbox import ACCOUNT, REGION
from scheduled_comms_cli.seeding import seed_due_rows
from scheduled_comms_cli.streams import StreamPump
from scheduled_comms_cli.voice_simulator import Fault
from scheduled_comms_local.lambda_host import scheduled_event
from scheduled_comms_local.moto_patches import moto_dynamodb_lock

from tests.integration.conftest import SimulatedCrash, published, soon
from tests.integration.test_dispatch import register_number, register_voice

MODES = tuple(Delivery)
ROWS = int(os.environ.get("FAULT_TEST_ROWS", "1200")) // len(MODES)  # per delivery mode
# A safety net, not a deadline: three times what a slow machine takes per row (0.11 s), plus ten minutes.
pytestmark = [pytest.mark.reliability, pytest.mark.slow, pytest.mark.timeout(600 + int(ROWS * 0.35))]

EVENTS_PER_ROUND = 5  # each delivered twice: ten overlapping ticks per round
MAX_ROUNDS = 60
VOICE_TIMEOUT_SECONDS = 1.0
TICK_SECONDS = 60

# The chance of each fault, per opportunity (a claim, a send, an HTTP attempt to the provider or table)
# in a run of 10,000 rows.
BASE_RATES = {
    "crash_after_claim": 0.003,
    "crash_after_send": 0.003,
    "crash_after_record": 0.003,
    "dynamodb_throttled": 0.05,
    "dynamodb_error_after_applying": 0.005,
    "ses_throttled": 0.05,
    "ses_rejected": 0.01,
    "sns_throttled": 0.03,
    "sns_internal_error": 0.02,
    "sns_rejected": 0.01,
    "voice_503_not_placed": 0.04,
    "voice_500_after_placing": 0.03,
    "voice_timeout_after_placing": 0.02,
    "voice_slow": 0.05,
    "events_refused": 0.03,
}

# Opportunities per seeded row, roughly: every row is claimed and sent at least once; a third of the
# rows go to each provider; the tick makes several table requests per row.
OPPORTUNITIES_PER_ROW = {"crash": 1.0, "dynamodb": 3.0, "ses": 1 / 3, "sns": 1 / 3, "voice": 1 / 3, "events": 1.0}
MIN_EXPECTED_HITS = 12
RATES = {
    fault: max(rate, MIN_EXPECTED_HITS / (ROWS * OPPORTUNITIES_PER_ROW[fault.partition("_")[0]]))
    for fault, rate in BASE_RATES.items()
}

# One round runs through a throttling storm: four attempts in a row fail for about 2.5% of requests.
STORM_RATE = 0.4
STORM_ROUND = 2


def _response(status: int, body: bytes, headers: dict[str, str]) -> AWSResponse:
    return AWSResponse(
        "https://fault.injected/", status, {"x-amzn-RequestId": "fault-injected", **headers}, MockRawResponse(body)
    )


def dynamodb_error(status: int, code: str, message: str) -> AWSResponse:
    body = {"__type": f"com.amazonaws.dynamodb.v20120810#{code}", "message": message}
    return _response(status, json.dumps(body).encode(), {"Content-Type": "application/x-amz-json-1.0"})


def ses_error(status: int, code: str, message: str) -> AWSResponse:
    return _response(status, json.dumps({"message": message}).encode(), {"x-amzn-ErrorType": code})


def events_refused() -> AWSResponse:
    """PutEvents' partial failure: the request succeeds, its (one) entry is refused."""
    body = {"FailedEntryCount": 1, "Entries": [{"ErrorCode": "InternalFailure", "ErrorMessage": "Try again"}]}
    return _response(200, json.dumps(body).encode(), {"Content-Type": "application/x-amz-json-1.1"})


def sns_error(status: int, code: str, message: str) -> AWSResponse:
    body = (
        f"<ErrorResponse><Error><Type>Sender</Type><Code>{code}</Code><Message>{message}</Message></Error>"
        "<RequestId>fault-injected</RequestId></ErrorResponse>"
    )
    return _response(status, body.encode(), {"Content-Type": "text/xml"})


TICK_TABLE_OPERATIONS = ("Query", "UpdateItem", "TransactWriteItems", "GetItem")
# Per operation: (fault, applied before the answer?, the answer), tried in order.
AWS_FAULTS: dict[str, list[tuple[str, bool, Callable[[], AWSResponse]]]] = {
    "dynamodb": [
        (
            "dynamodb_throttled",
            False,
            lambda: dynamodb_error(400, "ProvisionedThroughputExceededException", "Slow down"),
        ),
        ("dynamodb_error_after_applying", True, lambda: dynamodb_error(500, "InternalServerError", "Internal error")),
    ],
    "sesv2.SendEmail": [
        ("ses_throttled", False, lambda: ses_error(429, "TooManyRequestsException", "Maximum sending rate exceeded.")),
        ("ses_rejected", False, lambda: ses_error(400, "MessageRejected", "Address is on the suppression list.")),
    ],
    "sns.Publish": [
        ("sns_throttled", False, lambda: sns_error(400, "Throttling", "Rate exceeded")),
        ("sns_internal_error", False, lambda: sns_error(500, "InternalError", "Internal failure")),
        ("sns_rejected", False, lambda: sns_error(400, "InvalidParameter", "Invalid parameter: PhoneNumber")),
    ],
    "eventbridge.PutEvents": [("events_refused", False, events_refused)],
}


@dataclass
class FaultPlan:
    """Rolls the dice for each fault, counts what it injected, and keeps the ledger of what providers accepted."""

    rng: random.Random = field(default_factory=lambda: random.Random(20261123))
    injected: Counter[str] = field(default_factory=Counter)
    accepted: Counter[str] = field(default_factory=Counter)  # email/SMS row id -> messages the provider took
    crashed_after_send: set[str] = field(default_factory=set)
    crashed_after_record: set[str] = field(default_factory=set)  # rows whose terminal write a crash followed
    # (row id, attempt) whose "dispatched" write failed and, so far, was not retried successfully
    unrecorded_after_send: set[tuple[str, int]] = field(default_factory=set)
    table_errors: int = 0  # claims and writes that failed past botocore's retries
    retries_recorded: int = 0  # rows put back to pending after a retryable send error (crashed ticks included)
    active: bool = True
    storm: bool = False  # DynamoDB throttles at STORM_RATE instead, enough to outlast botocore's retries
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def roll(self, fault: str) -> bool:
        with self._lock:
            rate = STORM_RATE if self.storm and fault == "dynamodb_throttled" else RATES[fault]
            hit = self.active and self.rng.random() < rate
            if hit:
                self.injected[fault] += 1
            return hit

    def count_table_error(self) -> None:
        with self._lock:
            self.table_errors += 1

    def count_retry(self) -> None:
        with self._lock:
            self.retries_recorded += 1

    def count_accepted(self, row_id: str) -> None:
        with self._lock:
            self.accepted[row_id] += 1

    def pick(self, faults: list[str]) -> str | None:
        for fault in faults:
            if self.roll(fault):
                return fault
        return None

    def voice_fault(self, _key: str) -> Fault | None:
        fault = self.pick(
            ["voice_503_not_placed", "voice_500_after_placing", "voice_timeout_after_placing", "voice_slow"]
        )
        return {
            None: None,
            "voice_503_not_placed": Fault(status=503),
            "voice_500_after_placing": Fault(status=500, placed=True),
            "voice_timeout_after_placing": Fault(delay_seconds=VOICE_TIMEOUT_SECONDS + 0.5),
            "voice_slow": Fault(delay_seconds=VOICE_TIMEOUT_SECONDS / 3),
        }[fault]


def install_faults(plan: FaultPlan, monkeypatch: pytest.MonkeyPatch, simulator: Any) -> None:
    """Hook the faults into moto's door, the voice provider, and the store and senders the tick composes.

    AWS faults are answered in place of moto's (per HTTP attempt, so botocore's retries see them): a
    fault either stops the request before moto applies it, or lets moto apply it and loses the answer.
    """

    def aws_fault(operation: str) -> tuple[bool, AWSResponse] | None:
        """(applied first?, the answer) for one attempt of ``service.Operation``, or None."""
        service, _, name = operation.partition(".")
        faults = AWS_FAULTS["dynamodb"] if service == "dynamodb" and name in TICK_TABLE_OPERATIONS else []
        for fault, applied_first, answer in faults or AWS_FAULTS.get(operation, []):
            if plan.roll(fault):
                return applied_first, answer()
        return None

    moto_answer = BotocoreStubber.__call__

    def answer(self: BotocoreStubber, event_name: str, request: Any, **kwargs: Any) -> AWSResponse | None:
        fault = aws_fault(event_name.removeprefix("before-send."))
        if fault is None:
            return moto_answer(self, event_name, request, **kwargs)
        applied_first, response = fault
        if applied_first:
            moto_answer(self, event_name, request, **kwargs)
        return response

    monkeypatch.setattr(BotocoreStubber, "__call__", answer)
    # The rounds run on a simulated clock: botocore's pauses between retries need not take real seconds.
    # A tenth keeps their jitter and their growth; the retries themselves, and their quota, are unchanged.
    pause = ExponentialBackoff.delay_amount
    monkeypatch.setattr(ExponentialBackoff, "delay_amount", lambda self, context: pause(self, context) * 0.1)
    simulator.fault = plan.voice_fault

    store, senders = composition.dispatch_store(), composition.senders()
    real_claim, real_take_over, real_transition, real_send = (
        store.claim,
        store.take_over,
        store.transition,
        senders.send,
    )

    def crashing_after(claim: Callable[..., Any]) -> Callable[..., Any]:
        def claim_then_maybe_crash(*args: Any) -> Any:
            try:
                row = claim(*args)
            except Exception:
                plan.count_table_error()
                raise
            if row is not None and plan.roll("crash_after_claim"):
                raise SimulatedCrash("after claim")
            return row

        return claim_then_maybe_crash

    def send(row: Any) -> Any:
        result = real_send(row)
        if result.outcome == "sent" and row.channel is not Channel.VOICE_CALL:
            plan.count_accepted(row.id)
        if result.outcome == "sent" and plan.roll("crash_after_send"):
            plan.crashed_after_send.add(row.id)
            raise SimulatedCrash("after send, before its outcome was recorded")
        return result

    def transition(current: Any, updated: Any, also_create: Any = None, refund_credit: bool = False) -> bool:
        attempt = (current.id, current.attempt_count)
        try:
            recorded = real_transition(current, updated, also_create, refund_credit)
        except Exception:
            plan.count_table_error()
            if updated.status is Status.DISPATCHED:
                plan.unrecorded_after_send.add(attempt)
            raise
        if updated.status is Status.DISPATCHED:
            plan.unrecorded_after_send.discard(attempt)  # the tick's retry got it recorded after all
        if recorded and updated.status is Status.PENDING and updated.attempt_count == current.attempt_count:
            plan.count_retry()  # a hold gives its attempt back; a retry keeps it
        if recorded and plan.roll("crash_after_record"):
            if updated.status in TERMINAL:
                plan.crashed_after_record.add(updated.id)
            raise SimulatedCrash("after a transition's write, before anything could publish it")
        return recorded

    monkeypatch.setattr(store, "claim", crashing_after(real_claim))
    monkeypatch.setattr(store, "take_over", crashing_after(real_take_over))
    monkeypatch.setattr(store, "transition", transition)
    monkeypatch.setattr(senders, "send", send)


CENSUS = ("status", "channel", "scheduled_for", "lease_until", "attempt_count", "max_attempts", "last_error")


@dataclass
class Census:
    """Every seeded row's state."""

    rows: dict[str, dict[str, Any]]

    @classmethod
    def take(cls, table: str, ids: set[str]) -> Census:
        """Read from moto's own table, between two requests (a Scan would take most of the run's time)."""
        from moto.dynamodb.models import dynamodb_backends

        rows = {}
        with moto_dynamodb_lock():
            for group in dynamodb_backends[ACCOUNT][REGION].tables[table].items.values():
                for item in group.values():
                    row_id = item.attrs["sk"].value.rpartition("#")[2]
                    if row_id in ids:
                        rows[row_id] = {name: value.value for name, value in item.attrs.items() if name in CENSUS}
        return cls(rows)

    def with_status(self, *statuses: Status) -> list[dict[str, Any]]:
        wanted = {s.value for s in statuses}
        return [row for row in self.rows.values() if row["status"] in wanted]

    def next_moment(self, after: datetime) -> datetime | None:
        """When a tick next has work: a pending row comes due or a lease runs out (None: all terminal)."""
        moments = [parse_instant(r["scheduled_for"]) for r in self.with_status(Status.PENDING)]
        moments += [parse_instant(r["lease_until"]) for r in self.with_status(Status.DISPATCHING)]
        if not moments:
            return None
        return max(after + timedelta(seconds=TICK_SECONDS), min(moments))


@pytest.fixture
def faulty_voice(fresh_simulator: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("VOICE_TIMEOUT_SECONDS", str(VOICE_TIMEOUT_SECONDS))
    composition.reset()
    return fresh_simulator


def bus_queue(bus: str) -> str:
    """An SQS queue that receives every event published on ``bus``."""
    import boto3

    sqs, events = boto3.client("sqs"), boto3.client("events")
    queue_url = sqs.create_queue(QueueName=f"transitions-{bus}")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events.put_rule(Name="all-transitions", EventBusName=bus, EventPattern=json.dumps({"source": ["scheduled-comms"]}))
    events.put_targets(Rule="all-transitions", EventBusName=bus, Targets=[{"Id": "queue", "Arn": arn}])
    return queue_url


def provider_totals(simulator: Any) -> tuple[int, int, int]:
    from moto.ses.models import ses_backends
    from moto.sns.models import sns_backends

    return (
        len(ses_backends[ACCOUNT][REGION].sent_messages),
        len(sns_backends[ACCOUNT][REGION].sms_messages),
        len(simulator.calls()),
    )


@pytest.mark.parametrize("delivery", MODES, ids=[mode.value for mode in MODES])
def test_every_row_survives_ten_overlapping_ticks_under_injected_faults(
    api, make_company, ticker, isolated_tables, faulty_voice, monkeypatch, capsys, delivery
):
    company = make_company()
    number_id = register_number(api, company)
    voice_config_id = register_voice(api, company, faulty_voice)
    start = soon(5)
    ids = seed_due_rows(
        company.id, number_id, ROWS, start - timedelta(seconds=5), voice_config_id=voice_config_id, delivery=delivery
    )
    id_set = set(ids)
    table = os.environ["COMMUNICATIONS_TABLE"]
    before = provider_totals(faulty_voice)
    transitions = bus_queue(os.environ["EVENT_BUS_NAME"])
    pump = StreamPump(isolated_tables, ticker.host)  # Lambda's polling of the table's stream
    bus_events: list[dict[str, Any]] = []  # taken off the queue each round (moto scans a queue per request)

    plan = FaultPlan()
    install_faults(plan, monkeypatch, faulty_voice)
    summaries: list[dict[str, Any]] = []
    crashed_ticks = 0
    max_stuck = 0
    summary_lock = threading.Lock()

    def tick(event: dict[str, Any]) -> None:
        """The tick, then its dispatch workers (a crash ends a worker's process; its slice is not worked again)."""
        nonlocal crashed_ticks
        run = ticker.run(event)
        for delivery in run.failed:
            if not isinstance(delivery.error, SimulatedCrash):
                raise delivery.error  # type: ignore[misc]
        with summary_lock:
            crashed_ticks += len(run.failed)
            summaries.extend(d.result for d in run.deliveries if d.error is None)

    started = time.perf_counter()
    moment, previous, rounds = start, None, 0
    while True:
        rounds += 1
        assert rounds <= MAX_ROUNDS, "the rows never all reached a terminal state"
        plan.storm = rounds == STORM_ROUND
        events = [scheduled_event(moment, single_pass=True) for _ in range(EVENTS_PER_ROUND)]
        with ThreadPoolExecutor(max_workers=2 * EVENTS_PER_ROUND) as pool:
            list(pool.map(tick, [event for event in events for _ in range(2)]))
        pump.drain()
        bus_events += published(transitions)
        census = Census.take(table, id_set)
        if previous is not None:
            # Leases that ran out before the previous round have had two rounds of takeover by now.
            stuck = [r for r in census.with_status(Status.DISPATCHING) if parse_instant(r["lease_until"]) <= previous]
            max_stuck = max(max_stuck, len(stuck))
        with capsys.disabled():
            states = Counter(row["status"] for row in census.rows.values())
            print(
                f"\n  round {rounds} at +{(moment - start).total_seconds():.0f} s:"
                f" {dict(sorted(states.items()))}, {crashed_ticks} ticks crashed so far,"
                f" {time.perf_counter() - started:.0f} s",
                end="",
            )
        following = census.next_moment(moment)
        if following is None:
            break
        previous, moment = moment, following
    seconds = time.perf_counter() - started
    plan.active = False
    pump.drain()
    bus_events += published(transitions)
    events_per_row: dict[str, list[str]] = {row_id: [] for row_id in id_set}
    for event in bus_events:
        events_per_row[event["detail"]["id"]].append(event["detail-type"])
    terminal = {row_id: row["status"] for row_id, row in census.rows.items() if row["status"] in TERMINAL}
    wrong_events = {
        row_id: found
        for row_id, found in events_per_row.items()
        if found != ([f"ScheduledCommunication.{terminal[row_id].capitalize()}"] if row_id in terminal else [])
    }

    ses_sent, sns_sent, calls_placed = (
        after - then for after, then in zip(provider_totals(faulty_voice), before, strict=True)
    )
    calls_per_row = Counter(
        call.metadata.get("communication_id")
        for call in faulty_voice.calls()
        if call.metadata.get("communication_id") in id_set
    )
    statuses = Counter((row["channel"], row["status"]) for row in census.rows.values())
    lost = ROWS - sum(
        1 for row in census.rows.values() if row["status"] in {s.value for s in TERMINAL | {Status.PENDING}}
    )
    over_attempted = [r for r in census.rows.values() if int(r["attempt_count"]) > int(r["max_attempts"])]
    email_sms_duplicates = {row_id: n for row_id, n in plan.accepted.items() if n > 1}
    unrecorded = {row_id for row_id, _ in plan.unrecorded_after_send}
    explained = plan.crashed_after_send | unrecorded
    race_duplicates = {row_id: n for row_id, n in email_sms_duplicates.items() if row_id not in explained}
    crash_duplicates = {row_id: n for row_id, n in email_sms_duplicates.items() if row_id in plan.crashed_after_send}
    unrecorded_duplicates = {row_id: n for row_id, n in email_sms_duplicates.items() if row_id in unrecorded}
    voice_duplicates = {row_id: n for row_id, n in calls_per_row.items() if n > 1}
    email_sms = {row_id for row_id, row in census.rows.items() if row["channel"] != Channel.VOICE_CALL.value}
    outcome_unknown = {
        row_id
        for row_id, row in census.rows.items()
        if row_id in email_sms and row["status"] == "failed" and row.get("last_error") == OUTCOME_UNKNOWN
    }
    crashed_email_sms = plan.crashed_after_send & email_sms
    crashed_not_unknown = {
        row_id: (census.rows[row_id]["status"], census.rows[row_id].get("last_error"))
        for row_id in crashed_email_sms - outcome_unknown
    }
    dispatched_unsent = [
        row_id
        for row_id, row in census.rows.items()
        if row["status"] == "dispatched"
        and not (plan.accepted[row_id] if row["channel"] != Channel.VOICE_CALL.value else calls_per_row[row_id])
    ]
    totals = Counter()
    for summary in summaries:
        totals.update({k: v for k, v in summary.items() if isinstance(v, int)})

    figures = {
        "delivery": delivery.value,
        "rows": ROWS,
        "rounds (10 ticks each)": rounds,
        "tick invocations": len(summaries) + crashed_ticks,
        "ticks crashed": crashed_ticks,
        "seconds": round(seconds, 1),
        "fault rates": {fault: round(rate, 4) for fault, rate in RATES.items()},
        "faults injected": dict(sorted(plan.injected.items())),
        "tick totals (ticks that finished)": {
            k: totals[k]
            for k in ("dispatched", "retried", "failed", "taken_over", "lost_races", "store_errors", "fenced_out")
        },
        "final states": {f"{channel}/{status}": n for (channel, status), n in sorted(statuses.items())},
        "rows lost": lost,
        "duplicate sends from races": len(race_duplicates),
        "rows stuck in dispatching after lease + one tick": max_stuck,
        "claims and writes failed past botocore's retries": plan.table_errors,
        "retries recorded (crashed ticks included)": plan.retries_recorded,
        "email/SMS duplicates after a crash between send and record": len(crash_duplicates),
        "email/SMS sends that crash hit": len(plan.crashed_after_send - set(calls_per_row)),
        "email/SMS duplicates after a send whose outcome could not be written": len(unrecorded_duplicates),
        "email/SMS sends whose outcome could not be written": len(unrecorded - set(calls_per_row)),
        "email/SMS duplicates in all": len(email_sms_duplicates),
        "email/SMS rows failed outcome_unknown": len(outcome_unknown),
        "of which a crash hit after the send": len(outcome_unknown & crashed_email_sms),
        "of which the provider got none": sum(1 for row_id in outcome_unknown if not plan.accepted[row_id]),
        "voice calls placed twice (idempotency key)": len(voice_duplicates),
        "voice sends hit by either": len(explained & set(calls_per_row)),
        "terminal writes a crash followed": len(plan.crashed_after_record),
        "their events that reached the bus": sum(len(events_per_row[r]) for r in plan.crashed_after_record),
        "events published": sum(len(found) for found in events_per_row.values()),
        "rows without exactly one event of their final status": len(wrong_events),
        "stream consumer invocations": pump.invocations,
        "stream batches given up": pump.batches_given_up,
    }
    with capsys.disabled():
        print(f"\nFault-injection figures ({delivery.value}):")
        for name, value in figures.items():
            print(f"  {name}: {value}")

    assert len(census.rows) == ROWS, "every seeded row is still there"
    assert lost == 0
    assert race_duplicates == {}
    assert max_stuck == 0
    assert voice_duplicates == {}, "a resent call reuses its idempotency key"
    assert dispatched_unsent == [], "a row is marked dispatched only once a provider took it"
    assert over_attempted == []
    assert ses_sent + sns_sent == sum(plan.accepted.values()), "the ledger matches what SES and SNS recorded"
    assert calls_placed == sum(calls_per_row.values())
    assert set(plan.injected) == set(RATES), f"every fault fired: missing {set(RATES) - set(plan.injected)}"
    # Counted at the writes, not from the summaries of the ticks that finished: a crash loses its tick's.
    assert crashed_ticks > 0 and totals["taken_over"] > 0 and plan.retries_recorded > 0
    assert plan.table_errors > 0, "the storm outlasted botocore's retries, and the ticks carried on"
    assert plan.crashed_after_record, "some terminal writes were followed by a crash"
    assert wrong_events == {}, "every terminal row's transition reached the bus once, crash or not"
    assert pump.batches_given_up == 0
    assert crashed_email_sms, "a crash hit some email/SMS sends"
    if delivery is Delivery.AT_MOST_ONCE:
        assert email_sms_duplicates == {}, "at_most_once sends no email or SMS twice"
        assert crashed_not_unknown == {}, "every email/SMS a crash hit after its send ends failed outcome_unknown"
    else:
        assert crash_duplicates, "at_least_once sends again what a crash hit after its send"
        assert outcome_unknown == set(), "at_least_once never gives up on an unknown outcome"
