"""Plans batch calls in the background: each campaign whose item the table's stream shows ``scheduling`` gets its
contacts' call rows, in batches, from its checkpoint on (a planner that runs out of time hands over to the next)."""

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext
from scheduled_comms.adapters.dynamodb.items import campaign_of_key
from scheduled_comms.composition.campaigns import campaign_plan_store
from scheduled_comms.composition.company import directory
from scheduled_comms.logic.campaigns.scheduling import plan_campaign
from scheduled_comms.models.domain import now_utc
from scheduled_comms.observability import discard_unpublished_metrics, logger, metrics, tracer


@logger.inject_lambda_context(clear_state=True)
@tracer().capture_lambda_handler
@discard_unpublished_metrics
@metrics.log_metrics(raise_on_empty_metrics=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    # A batch may name a campaign several times (each checkpoint of a plan writes its item): planned once.
    campaigns = dict.fromkeys(
        found
        for record in event.get("Records", [])
        if (found := campaign_of_key((record.get("dynamodb") or {}).get("Keys") or {})) is not None
    )
    planned = 0
    for company_id, campaign_id in campaigns:
        report = plan_campaign(
            campaign_plan_store(),
            company_id,
            campaign_id,
            now_utc,
            lambda: context.get_remaining_time_in_millis() / 1000,
            calendar=directory(),
        )
        planned += report.planned
        logger.info(
            "batch call planned",
            extra={"batch_call_id": campaign_id, "planned": report.planned, "finished": report.finished},
        )
    metrics.add_metric(name="BatchCallContactsPlanned", unit="Count", value=planned)
    return {"campaigns": len(campaigns), "planned": planned}
