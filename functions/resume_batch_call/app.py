"""POST /v1/batch-calls/{id}/resume: paused -> scheduling: what remains is planned again from now, in the background."""

from typing import Annotated, Any

from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Path
from scheduled_comms.composition.campaigns import campaign_store
from scheduled_comms.http.campaigns import answer_once
from scheduled_comms.http.resolver import ServiceResolver, api_handler, requires
from scheduled_comms.logic.campaigns.service import resume_campaign
from scheduled_comms.models.campaign_api import CampaignResponse
from scheduled_comms.models.values import Uuid
from scheduled_comms.observability import metrics

router = Router()


@router.post(
    "/v1/batch-calls/<id>/resume",
    operation_id="resumeBatchCall",
    summary="Resume a batch call",
    tags=["batch-calls"],
    security=requires("campaigns:write", "calls:initiate"),
    responses={
        202: {
            "description": "Accepted: the remaining contacts are being planned again",
            "content": {"application/json": {"model": CampaignResponse}},
        }
    },
)
def resume_route(id: Annotated[Uuid, Path()]) -> Any:
    reply = answer_once(
        router,
        f"POST /v1/batch-calls/{id}/resume",
        None,
        202,
        lambda caller, now: resume_campaign(campaign_store(), caller, id, now),
        batch_call_id=id,
    )
    metrics.add_metric(name="BatchCallsResumed", unit="Count", value=1)
    return reply


app = ServiceResolver(router)
lambda_handler = api_handler(app)
