"""POST /v1/batch-calls: a new batch call (campaign), a draft with its inline contacts."""

from typing import Annotated, Any

from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Body
from scheduled_comms.composition.campaigns import campaign_store
from scheduled_comms.composition.company import directory
from scheduled_comms.http.campaigns import answer_once
from scheduled_comms.http.resolver import (
    CONTACT_UPLOADS,
    ServiceResolver,
    api_handler,
    requires,
)
from scheduled_comms.logic.campaigns.service import create_campaign
from scheduled_comms.models.campaign_api import CampaignResponse, CreateCampaignRequest
from scheduled_comms.observability import metrics

router = Router()


@router.post(
    "/v1/batch-calls",
    operation_id="createBatchCall",
    summary="Create a batch call (campaign)",
    tags=["batch-calls"],
    security=requires("campaigns:write", "calls:initiate"),
    responses={201: {"description": "Created (a draft)", "content": {"application/json": {"model": CampaignResponse}}}},
)
def create_route(request: Annotated[CreateCampaignRequest, Body()]) -> Any:
    reply = answer_once(
        router,
        "POST /v1/batch-calls",
        router.current_event.json_body,
        201,
        lambda caller, now: create_campaign(campaign_store(), directory(), caller, request, now),
    )
    metrics.add_metric(name="BatchCallsCreated", unit="Count", value=1)
    return reply


app = ServiceResolver(router, bodies=CONTACT_UPLOADS)
lambda_handler = api_handler(app)
