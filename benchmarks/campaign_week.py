"""A simulated working week of one batch call: 5,000 contacts, max_concurrent_calls=8, three overlapping ticks
a minute, against moto with the real planner, dispatch engine, campaign gate (call slots) and the outcome
webhook's campaign logic. The voice provider is the simulator's outcome mix (seeded), each call lasting its
ring time plus its talk seconds of simulated time; an outcome is delivered at the first tick after its call ends.

Measured from what the code did, never typed in: the most calls the provider ever had in flight (placed, and
their outcome not yet delivered), the contacts it was asked to dial more than once, and the contacts never
dialled (or not finished) when the week and a final hour are over."""

from __future__ import annotations

import heapq
import os
import random
import threading
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

CONTACTS = int(os.environ.get("BENCH_WEEK_CONTACTS", "5000"))
CAP = 8
TICKS = 3
STEP = timedelta(minutes=1)
MONDAY_OPEN = datetime(2027, 3, 1, 15, 0, tzinfo=UTC)  # 10:00 in New York (EST)
MIX = "conversation:300=45,conversation:90=15,no_answer=20,voicemail=15,busy=5"
RING_SECONDS = (10, 40)


@dataclass
class SimulatedProvider:
    """The voice provider: places each call, draws how it ends, and counts the calls in flight."""

    now: datetime = MONDAY_OPEN
    rng: random.Random = field(default_factory=lambda: random.Random(11))
    placed: Counter[str] = field(default_factory=Counter)
    in_flight: int = 0
    max_in_flight: int = 0
    ends: list[tuple[datetime, int, Any, dict[str, Any]]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def send(self, row: Any) -> Any:
        from scheduled_comms.models.domain import SendResult
        from scheduled_comms_cli.voice_simulator import OUTCOMES, OutcomeMix

        with self.lock:
            outcome, talk = OutcomeMix.parse(MIX).draw(self.rng)
            details = {**OUTCOMES[outcome], "talk_seconds": talk if outcome == "conversation" else 0}
            call_id = f"call_{uuid.uuid4().hex[:12]}"
            duration = timedelta(seconds=self.rng.uniform(*RING_SECONDS) + details["talk_seconds"])
            heapq.heappush(self.ends, (self.now + duration, len(self.ends), row, {"call_id": call_id, **details}))
            self.placed[str(row.payload["to_number"])] += 1
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
        return SendResult.sent(call_id)

    def ended_by(self, moment: datetime) -> list[tuple[datetime, Any, dict[str, Any]]]:
        with self.lock:
            done = []
            while self.ends and self.ends[0][0] <= moment:
                end, _, row, outcome = heapq.heappop(self.ends)
                done.append((end, row, outcome))
                self.in_flight -= 1
            return done


class SimulatedClock:
    """An engine's clock in simulated time: its waits (to a row's instant, between retries) pass at once."""

    def __init__(self) -> None:
        self._now = 0.0
        self._lock = threading.Lock()

    def monotonic(self) -> float:
        with self._lock:
            return self._now

    def sleep(self, seconds: float) -> None:
        with self._lock:
            self._now += max(0.0, seconds)


def draft_campaign(company_with_number: Any, at: datetime, max_calls_per_day: int, name: str) -> Any:
    """A batch call of a new company (its number, a voice agent of its own) as the API creates it, not yet stored:
    New York, 10:00-17:00, ``max_concurrent_calls`` CAP."""
    from scheduled_comms import composition
    from scheduled_comms.models.campaigns import Campaign, ContactSource, DeliverySettings
    from scheduled_comms.models.registry import VoiceAgentConfig
    from scheduled_comms.models.values import new_id

    company_id, number_id = company_with_number()
    agent_id = str(uuid.uuid4())
    config = VoiceAgentConfig(
        id=agent_id, name="a", provider="http", endpoint_url="https://voice.example.com", agent_id="a", created_at=at
    )
    composition.directory().put_voice_config(company_id, config, "arn:none")
    settings = DeliverySettings(
        timezone="America/New_York",
        start_time="10:00",
        end_time="17:00",
        max_calls_per_day=max_calls_per_day,
        max_concurrent_calls=CAP,
    )
    return Campaign(
        id=new_id(at),
        company_id=company_id,
        name=name,
        agent_id=agent_id,
        phone_number_ids=[number_id],
        contact_source=ContactSource.INLINE,
        settings=settings,
        created_at=at,
        updated_at=at,
    )


def bench_week(company_with_number: Any) -> dict[str, Any]:
    from scheduled_comms import composition
    from scheduled_comms.composition.dispatch import dispatch_config, dispatch_directory, dispatch_gates
    from scheduled_comms.logic.campaigns.gate import campaign_call_ended
    from scheduled_comms.logic.campaigns.scheduling import plan_campaign
    from scheduled_comms.logic.dispatch.engine import Dispatcher
    from scheduled_comms.models.campaigns import Contact
    from scheduled_comms.observability import metrics

    # One due shard: the simulation's thousands of tick moments each query every shard, and moto reads its
    # whole index for each query; a shard is a unit of scale-out, not of correctness.
    os.environ["DUE_SHARD_COUNT"] = "1"
    composition.reset()
    campaign = draft_campaign(company_with_number, MONDAY_OPEN, CONTACTS // 5, "week")
    company_id = campaign.company_id
    store, plans, calls = (
        composition.campaign_store(),
        composition.campaign_plan_store(),
        composition.campaign_call_store(),
    )
    contacts = [Contact(phone_number=f"+1646{200 + i // 10_000}{i % 10_000:04d}") for i in range(CONTACTS)]
    created = store.create(campaign, contacts)
    store.schedule(created, CONTACTS, MONDAY_OPEN)
    report = plan_campaign(plans, company_id, campaign.id, lambda: MONDAY_OPEN - timedelta(hours=1), lambda: 900.0)
    assert report.finished and report.planned == CONTACTS, report

    provider = SimulatedProvider()
    config_ = dispatch_config()

    def tick(moment: datetime) -> None:
        clock = SimulatedClock()
        engine = Dispatcher(
            composition.dispatch_store(),
            provider,
            dispatch_directory(),
            config_,
            gates=dispatch_gates(),
            monotonic=clock.monotonic,
            sleep=clock.sleep,
        )
        engine.run(moment, lambda: 60.0, single_pass=True)
        metrics.clear_metrics()  # no handler flushes them here: Powertools would print every hundredth value

    last = MONDAY_OPEN + timedelta(days=4, hours=8)  # Friday 18:00 in New York: an hour after the last window
    moment, steps = MONDAY_OPEN, 0
    with ThreadPoolExecutor(max_workers=TICKS) as pool:
        while moment <= last:
            for end, row, outcome in provider.ended_by(moment):  # the outcome webhooks of calls that ended
                campaign_call_ended(calls, row, outcome, end)
            provider.now = moment
            list(pool.map(tick, [moment] * TICKS))
            steps += 1
            opens = moment.replace(hour=15, minute=0) + timedelta(days=1)
            quiet = not provider.ends and moment.hour >= 22  # the window is over and no call is going on
            if quiet and moment.weekday() < 4:
                placed = sum(provider.placed.values())
                print(f"campaigns: week, {moment:%A} over, {placed:,} calls placed", flush=True)
            moment = opens if quiet and moment.weekday() < 4 else moment + STEP
    for end, row, outcome in provider.ended_by(last + timedelta(hours=2)):
        campaign_call_ended(calls, row, outcome, end)

    final = store.get(company_id, campaign.id, consistent=True)
    assert final is not None
    finished = sum(final.counts.get(status, 0) for status in ("completed", "failed", "skipped"))  # type: ignore[misc]
    dialled = set(provider.placed)
    return {
        "contacts": CONTACTS,
        "max_concurrent_calls": CAP,
        "overlapping_ticks": TICKS,
        "due_shards": 1,
        "tick_moments": steps,
        "max_in_flight": provider.max_in_flight,
        "dialled_twice": sum(1 for times in provider.placed.values() if times > 1),
        "lost": CONTACTS - len(dialled & {c.phone_number for c in contacts}),
        "not_finished": CONTACTS - finished,
        "status": final.status.value,
    }
