"""A batch call's background work, read from the table's stream: each campaign whose item shows ``scheduling`` gets
its contacts' call rows, in batches, from its checkpoint on; each ``cancelled`` one not yet wound down has its
calls not yet placed cancelled. A run out of time hands over to the next."""

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext
from scheduled_comms.adapters.dynamodb.items import campaign_of_key
from scheduled_comms.composition.campaigns import campaign_plan_store
from scheduled_comms.composition.company import directory
from scheduled_comms.composition.stores import communication_store
from scheduled_comms.logic.campaigns.scheduling import work_on_campaign
from scheduled_comms.models.domain import now_utc
from scheduled_comms.observability import discard_unpublished_metrics, logger, metrics, tracer


@logger.inject_lambda_context(clear_state=True)
@tracer().capture_lambda_handler
@discard_unpublished_metrics
@metrics.log_metrics(raise_on_empty_metrics=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    # A batch may name a campaign several times (each checkpoint writes its item): worked on once.
    campaigns = dict.fromkeys(
        found
        for record in event.get("Records", [])
        if (found := campaign_of_key((record.get("dynamodb") or {}).get("Keys") or {})) is not None
    )
    handled = 0
    for company_id, campaign_id in campaigns:
        report = work_on_campaign(
            campaign_plan_store(),
            communication_store(),
            company_id,
            campaign_id,
            now_utc,
            lambda: context.get_remaining_time_in_millis() / 1000,
            calendar=directory(),
        )
        handled += report.planned
        logger.info(
            "batch call worked on",
            extra={"batch_call_id": campaign_id, "contacts": report.planned, "finished": report.finished},
        )
    metrics.add_metric(name="BatchCallContactsPlanned", unit="Count", value=handled)
    return {"campaigns": len(campaigns), "planned": handled}
