"""A dispatch worker: dispatches the tick's slice of due shards, polling until the next tick takes over."""

from datetime import UTC, datetime, timedelta
from typing import Any

from aws_lambda_powertools.utilities.data_classes import SQSEvent, event_source
from aws_lambda_powertools.utilities.typing import LambdaContext
from scheduled_comms.composition.dispatch import dispatcher
from scheduled_comms.logic.dispatch.report import combined
from scheduled_comms.models.dispatch import DispatchSlice
from scheduled_comms.models.domain import now_utc
from scheduled_comms.observability import discard_unpublished_metrics, logger, metrics, tracer

STALE_AFTER = timedelta(minutes=2)


@logger.inject_lambda_context(clear_state=True)
@tracer().capture_lambda_handler
@discard_unpublished_metrics
@metrics.log_metrics(raise_on_empty_metrics=False)
@event_source(data_class=SQSEvent)
def lambda_handler(event: SQSEvent, context: LambdaContext) -> dict[str, Any]:
    summaries = []
    for record in event.records:
        work = DispatchSlice.model_validate_json(record.body)
        # The tick's clock, plus the time the slice waited in the queue.
        sent = datetime.fromtimestamp(int(record.attributes.sent_timestamp) / 1000, UTC)
        started_at = work.at + max(timedelta(0), now_utc() - sent)
        if not work.single_pass and now_utc() - work.at > STALE_AFTER:
            logger.warning("stale slice skipped", extra={"tick_time": work.at.isoformat()})
            continue
        report = dispatcher().run(
            started_at=started_at,
            remaining_seconds=lambda: context.get_remaining_time_in_millis() / 1000,
            single_pass=work.single_pass,
            shards=work.shards,
        )
        summaries.append(report.summary())
    summary = combined(summaries)
    logger.info("slice dispatched", extra=summary)
    return summary
