"""The scheduler tick: every minute, dispatch what is due, polling until the next tick takes over."""

from datetime import timedelta
from typing import Any

from aws_lambda_powertools.utilities.data_classes import EventBridgeEvent, event_source
from aws_lambda_powertools.utilities.typing import LambdaContext
from scheduled_comms.composition.dispatch import dispatcher
from scheduled_comms.models.domain import now_utc
from scheduled_comms.models.values import parse_instant
from scheduled_comms.observability import discard_unpublished_metrics, logger, metrics, tracer

STALE_AFTER = timedelta(minutes=2)


@logger.inject_lambda_context(clear_state=True)
@tracer().capture_lambda_handler
@discard_unpublished_metrics
@metrics.log_metrics(raise_on_empty_metrics=False)
@event_source(data_class=EventBridgeEvent)
def lambda_handler(event: EventBridgeEvent, context: LambdaContext) -> dict[str, Any]:
    single_pass = bool((event.detail or {}).get("single_pass"))
    started_at = parse_instant(event.time)
    if not single_pass and now_utc() - started_at > STALE_AFTER:
        # A late delivery: a fresher tick is already running, and this one's clock would be wrong.
        logger.warning("stale tick event skipped", extra={"event_time": event.time})
        return {"skipped": "stale event"}
    report = dispatcher().run(
        started_at=started_at,
        remaining_seconds=lambda: context.get_remaining_time_in_millis() / 1000,
        single_pass=single_pass,
    )
    summary = report.summary()
    logger.info("tick finished", extra=summary)
    return summary
