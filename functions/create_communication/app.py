"""POST /v1/scheduled-communications: queue an email, SMS or voice call for later."""

from datetime import timedelta
from typing import Annotated, Any

from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Body
from scheduled_comms.composition.company import directory
from scheduled_comms.composition.stores import communication_store
from scheduled_comms.http.resolver import ServiceResolver, api_handler, current_caller, json_response, requires_any
from scheduled_comms.logic.communications import schedule_communication
from scheduled_comms.models.api import CommunicationResponse, CreateCommunicationRequest
from scheduled_comms.models.domain import CHANNEL_SCOPES, now_utc
from scheduled_comms.observability import logger, metrics
from scheduled_comms.settings import get_settings

router = Router()


@router.post(
    "/v1/scheduled-communications",
    operation_id="createScheduledCommunication",
    summary="Schedule a communication",
    tags=["scheduled-communications"],
    security=requires_any(*[("dispatcher:write", scope) for scope in CHANNEL_SCOPES]),
    responses={201: {"description": "Created", "content": {"application/json": {"model": CommunicationResponse}}}},
)
def create_route(request: Annotated[CreateCommunicationRequest, Body()]) -> Any:
    caller = current_caller(router)
    logger.append_keys(company_id=caller.company_id, channel=request.channel)
    result = schedule_communication(
        communication_store(),
        directory(),
        caller,
        request,
        router.current_event.json_body,
        router.current_event.headers.get("Idempotency-Key"),
        now_utc(),
        timedelta(seconds=get_settings().idempotency_ttl_seconds),
    )
    metrics.add_metric(name="CommunicationsScheduled", unit="Count", value=1)
    return json_response(201, result)


app = ServiceResolver(router)
lambda_handler = api_handler(app)
