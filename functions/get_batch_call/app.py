"""GET /v1/batch-calls/{id}: a batch call's settings and counters, with its live progress."""

from typing import Annotated

from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Path
from scheduled_comms.composition.campaigns import campaign_store
from scheduled_comms.http.resolver import ServiceResolver, api_handler, current_caller, requires
from scheduled_comms.logic.campaigns.service import get_campaign
from scheduled_comms.models.campaign_api import CampaignResponse
from scheduled_comms.models.domain import now_utc
from scheduled_comms.models.values import Uuid
from scheduled_comms.observability import logger, metrics

router = Router()


@router.get(
    "/v1/batch-calls/<id>",
    operation_id="getBatchCall",
    summary="Get a batch call",
    tags=["batch-calls"],
    security=requires("campaigns:read"),
)
def get_route(id: Annotated[Uuid, Path()]) -> CampaignResponse:
    caller = current_caller(router)
    logger.append_keys(company_id=caller.company_id, batch_call_id=id)
    result = get_campaign(campaign_store(), caller, id, now_utc())
    metrics.add_metric(name="BatchCallsRead", unit="Count", value=1)
    return result


app = ServiceResolver(router)
lambda_handler = api_handler(app)
