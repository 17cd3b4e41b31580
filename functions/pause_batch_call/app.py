"""POST /v1/batch-calls/{id}/pause: stop dialling; due contacts wait until resumed."""

from typing import Annotated, Any

from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Path
from scheduled_comms.composition.campaigns import campaign_store
from scheduled_comms.http.campaigns import answer_once
from scheduled_comms.http.resolver import ServiceResolver, api_handler, requires
from scheduled_comms.logic.campaigns.service import pause_campaign
from scheduled_comms.models.campaign_api import CampaignResponse
from scheduled_comms.models.values import Uuid
from scheduled_comms.observability import metrics

router = Router()


@router.post(
    "/v1/batch-calls/<id>/pause",
    operation_id="pauseBatchCall",
    summary="Pause a batch call",
    tags=["batch-calls"],
    security=requires("campaigns:write", "calls:initiate"),
    responses={
        200: {
            "description": "Paused",
            "content": {"application/json": {"model": CampaignResponse}},
        }
    },
)
def pause_route(id: Annotated[Uuid, Path()]) -> Any:
    reply = answer_once(
        router,
        f"POST /v1/batch-calls/{id}/pause",
        None,
        200,
        lambda caller, now: pause_campaign(campaign_store(), caller, id, now),
        batch_call_id=id,
    )
    metrics.add_metric(name="BatchCallsPaused", unit="Count", value=1)
    return reply


app = ServiceResolver(router)
lambda_handler = api_handler(app)
