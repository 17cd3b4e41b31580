"""The tick's fan-out: the queue it hands its slices to, and how it sizes them (no engine, no senders)."""

from __future__ import annotations

from scheduled_comms.adapters.work_queue import SqsWorkQueue
from scheduled_comms.composition import component
from scheduled_comms.logic.dispatch.fanout import FanOutConfig
from scheduled_comms.settings import get_settings


@component
def work_queue() -> SqsWorkQueue:
    settings = get_settings()
    if not settings.dispatch_queue_url:
        raise RuntimeError("DISPATCH_QUEUE_URL is not set: the tick has no queue to hand its shards to")
    return SqsWorkQueue(settings.dispatch_queue_url)


def fan_out_config() -> FanOutConfig:
    settings = get_settings()
    return FanOutConfig(
        max_workers=settings.dispatch_workers,
        rows_per_worker=settings.dispatch_rows_per_worker,
        look_ahead_seconds=settings.tick_interval_seconds,
    )
