"""POST /v1/batch-calls/{id}/schedule: draft -> scheduling, a credit reserved per contact; planned in the background."""

from typing import Annotated, Any

from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Path
from scheduled_comms.composition.campaigns import campaign_store
from scheduled_comms.composition.company import directory
from scheduled_comms.composition.stores import credit_ledger
from scheduled_comms.http.campaigns import answer_once
from scheduled_comms.http.resolver import ServiceResolver, api_handler, requires
from scheduled_comms.logic.campaigns.service import schedule_campaign
from scheduled_comms.models.campaign_api import CampaignResponse
from scheduled_comms.models.values import Uuid
from scheduled_comms.observability import metrics

router = Router()


@router.post(
    "/v1/batch-calls/<id>/schedule",
    operation_id="scheduleBatchCall",
    summary="Schedule a batch call",
    tags=["batch-calls"],
    security=requires("campaigns:write", "calls:initiate"),
    responses={
        202: {
            "description": "Accepted: the contacts are being planned",
            "content": {"application/json": {"model": CampaignResponse}},
        }
    },
)
def schedule_route(id: Annotated[Uuid, Path()]) -> Any:
    reply = answer_once(
        router,
        f"POST /v1/batch-calls/{id}/schedule",
        None,
        202,
        lambda caller, now: schedule_campaign(campaign_store(), directory(), credit_ledger(), caller, id, now),
        batch_call_id=id,
    )
    metrics.add_metric(name="BatchCallsScheduled", unit="Count", value=1)
    return reply


app = ServiceResolver(router)
lambda_handler = api_handler(app)
