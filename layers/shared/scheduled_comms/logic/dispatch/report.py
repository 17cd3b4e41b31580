"""What a tick did: a count per outcome, its lateness, and the metrics it publishes once per tick."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from scheduled_comms.observability import metrics


class RowOutcome(StrEnum):
    """What became of one row a tick took up; the value names its count in the tick's summary."""

    DISPATCHED = "dispatched"
    RETRIED = "retried"
    THROTTLED = "throttled"  # the provider refused for its rate: due again in seconds, no attempt spent
    FAILED = "failed"
    SKIPPED = "skipped"
    HELD = "held"
    LOST = "lost_races"  # another tick claimed it first
    STORE_ERROR = "store_errors"  # a read or claim the table did not answer: the row waits for a later pass
    TAKEN_OVER = "taken_over"  # sent after taking over a row whose lease ran out
    FENCED_OUT = "fenced_out"  # another tick took the row over before this one recorded its outcome


UNCLAIMED = frozenset({RowOutcome.LOST, RowOutcome.STORE_ERROR})  # a claim this tick did not win


@dataclass
class TickReport:
    counts: Counter[RowOutcome] = field(default_factory=Counter)
    passes: int = 0
    lateness_seconds: list[float] = field(default_factory=list)

    @property
    def claimed(self) -> int:
        return sum(count for outcome, count in self.counts.items() if outcome not in UNCLAIMED)

    def count(self, outcome: RowOutcome, lateness: float | None = None) -> None:
        self.counts[outcome] += 1
        if lateness is not None:
            self.lateness_seconds.append(lateness)

    def record_metrics(self) -> None:
        """One value per outcome and lateness percentiles per tick (not one EMF value per row)."""
        for outcome in RowOutcome:
            if count := self.counts[outcome]:
                metrics.add_metric(name=f"Rows{outcome.title().replace('_', '')}", unit="Count", value=count)
        if self.lateness_seconds:
            ordered = sorted(self.lateness_seconds)
            for label, fraction in (("P50", 0.5), ("P99", 0.99), ("Max", 1.0)):
                value = ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]
                metrics.add_metric(name=f"DispatchLateness{label}Seconds", unit="Seconds", value=max(0.0, value))

    def summary(self) -> dict[str, Any]:
        worst = max(self.lateness_seconds, default=None)
        return {
            "claimed": self.claimed,
            **{outcome.value: self.counts[outcome] for outcome in RowOutcome},
            "passes": self.passes,
            "max_lateness_seconds": None if worst is None else round(worst, 3),
        }


def combined(summaries: list[dict[str, Any]]) -> dict[str, Any]:
    """Several runs' summaries as one: counts added up, the worst lateness kept."""
    total = TickReport().summary()
    for summary in summaries:
        for name, value in summary.items():
            if name == "max_lateness_seconds":
                if value is not None:
                    total[name] = max(value, total[name] or value)
            elif isinstance(value, int):
                total[name] = total.get(name, 0) + value
    return total
