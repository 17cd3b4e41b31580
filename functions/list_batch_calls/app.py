"""GET /v1/batch-calls: the company's batch calls, newest first."""

from typing import Annotated

from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Query
from scheduled_comms.composition.campaigns import campaign_store
from scheduled_comms.composition.secrets import cursor_key
from scheduled_comms.http.resolver import (
    ServiceResolver,
    api_handler,
    current_caller,
    refuse_unknown_query,
    requires,
)
from scheduled_comms.logic.campaigns.service import list_campaigns
from scheduled_comms.models.campaign_api import CampaignListResponse
from scheduled_comms.models.campaigns import CampaignStatus
from scheduled_comms.observability import logger, metrics

router = Router()
QUERY_PARAMETERS = {"status", "limit", "cursor"}


@router.get(
    "/v1/batch-calls",
    operation_id="listBatchCalls",
    summary="List batch calls",
    tags=["batch-calls"],
    security=requires("campaigns:read"),
)
def list_route(
    status: Annotated[CampaignStatus | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 25,
    cursor: Annotated[str | None, Query(min_length=1, max_length=512)] = None,
) -> CampaignListResponse:
    refuse_unknown_query(router, QUERY_PARAMETERS)
    caller = current_caller(router)
    logger.append_keys(company_id=caller.company_id)
    result = list_campaigns(campaign_store(), caller, status, limit, cursor, cursor_key())
    metrics.add_metric(name="BatchCallsListed", unit="Count", value=len(result.data))
    return result


app = ServiceResolver(router)
lambda_handler = api_handler(app)
