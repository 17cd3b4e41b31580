"""The scheduler tick: every minute, hand the due shards to as many dispatch workers as the work needs."""

from datetime import timedelta
from typing import Any

from aws_lambda_powertools.utilities.data_classes import EventBridgeEvent, event_source
from aws_lambda_powertools.utilities.typing import LambdaContext
from scheduled_comms.composition.fanout import fan_out_config, work_queue
from scheduled_comms.composition.stores import dispatch_store
from scheduled_comms.logic.dispatch.fanout import fan_out
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
    report = fan_out(dispatch_store(), work_queue(), started_at, fan_out_config(), single_pass=single_pass)
    summary = report.summary()
    logger.info("tick handed out its shards", extra=summary)
    return summary
