"""GET /v1/batch-calls/{id}/analytics: what a batch call's calls came to (outcomes, connect rate, conversation
seconds, calls per local day, credits spent), from counters kept on its item: never a scan."""

from typing import Annotated

from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Path
from scheduled_comms.composition.campaigns import campaign_store
from scheduled_comms.http.resolver import ServiceResolver, api_handler, current_caller, requires
from scheduled_comms.logic.campaigns.service import campaign_analytics
from scheduled_comms.models.campaign_api import AnalyticsResponse
from scheduled_comms.models.values import Uuid
from scheduled_comms.observability import logger, metrics

router = Router()


@router.get(
    "/v1/batch-calls/<id>/analytics",
    operation_id="getBatchCallAnalytics",
    summary="Get a batch call's analytics",
    tags=["batch-calls"],
    security=requires("campaigns:read"),
)
def analytics_route(id: Annotated[Uuid, Path()]) -> AnalyticsResponse:
    caller = current_caller(router)
    logger.append_keys(company_id=caller.company_id, batch_call_id=id)
    result = campaign_analytics(campaign_store(), caller, id)
    metrics.add_metric(name="BatchCallAnalyticsRead", unit="Count", value=1)
    return result


app = ServiceResolver(router)
lambda_handler = api_handler(app)
