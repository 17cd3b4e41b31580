"""PATCH /v1/batch-calls/{id}: edit a batch call's name and delivery settings."""

from typing import Annotated

from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Body, Path
from scheduled_comms.composition.campaigns import campaign_store
from scheduled_comms.http.resolver import ServiceResolver, api_handler, current_caller, requires
from scheduled_comms.logic.campaigns.service import update_campaign
from scheduled_comms.models.campaign_api import CampaignResponse, UpdateCampaignRequest
from scheduled_comms.models.domain import now_utc
from scheduled_comms.models.values import Uuid
from scheduled_comms.observability import logger, metrics

router = Router()


@router.patch(
    "/v1/batch-calls/<id>",
    operation_id="updateBatchCall",
    summary="Edit a batch call",
    tags=["batch-calls"],
    security=requires("campaigns:write", "calls:initiate"),
)
def update_route(id: Annotated[Uuid, Path()], request: Annotated[UpdateCampaignRequest, Body()]) -> CampaignResponse:
    caller = current_caller(router)
    logger.append_keys(company_id=caller.company_id, batch_call_id=id)
    result = update_campaign(campaign_store(), caller, id, request, now_utc())
    metrics.add_metric(name="BatchCallsUpdated", unit="Count", value=1)
    return result


app = ServiceResolver(router)
lambda_handler = api_handler(app)
