"""POST /v1/batch-calls/{id}/resume: paused -> scheduling: what remains is planned again from now, in the background."""

from datetime import timedelta
from typing import Annotated, Any

from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Path
from scheduled_comms.composition.campaigns import campaign_store, idempotency_store
from scheduled_comms.http.resolver import ServiceResolver, api_handler, current_caller, json_response, requires
from scheduled_comms.logic.campaigns.service import post_once, resume_campaign
from scheduled_comms.models.campaign_api import CampaignResponse
from scheduled_comms.models.domain import now_utc
from scheduled_comms.models.values import Uuid
from scheduled_comms.observability import logger, metrics
from scheduled_comms.settings import get_settings

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
    caller = current_caller(router)
    logger.append_keys(company_id=caller.company_id, batch_call_id=id)
    now = now_utc()
    status, body = post_once(
        idempotency_store(),
        caller,
        router.current_event.headers,
        f"POST /v1/batch-calls/{id}/resume",
        None,
        now,
        timedelta(seconds=get_settings().idempotency_ttl_seconds),
        202,
        lambda: resume_campaign(campaign_store(), caller, id, now),
    )
    metrics.add_metric(name="BatchCallsResumed", unit="Count", value=1)
    return json_response(status, body)


app = ServiceResolver(router)
lambda_handler = api_handler(app)
