"""PATCH /v1/scheduled-communications/{id}: edit a pending row."""

from typing import Annotated

from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Body, Path
from scheduled_comms.composition.company import directory
from scheduled_comms.composition.stores import communication_store, credit_ledger
from scheduled_comms.http.resolver import ServiceResolver, api_handler, current_caller, requires_any
from scheduled_comms.logic.communications import update_communication
from scheduled_comms.models.api import CommunicationResponse, UpdateCommunicationRequest
from scheduled_comms.models.domain import CHANNEL_SCOPES, now_utc
from scheduled_comms.models.values import Uuid
from scheduled_comms.observability import logger, metrics

router = Router()


@router.patch(
    "/v1/scheduled-communications/<id>",
    operation_id="updateScheduledCommunication",
    summary="Edit a pending communication",
    tags=["scheduled-communications"],
    security=requires_any(*[("dispatcher:write", scope) for scope in CHANNEL_SCOPES]),
)
def update_route(
    id: Annotated[Uuid, Path()], request: Annotated[UpdateCommunicationRequest, Body()]
) -> CommunicationResponse:
    caller = current_caller(router)
    logger.append_keys(company_id=caller.company_id, communication_id=id)
    result = update_communication(communication_store(), directory(), credit_ledger(), caller, id, request, now_utc())
    metrics.add_metric(name="CommunicationsUpdated", unit="Count", value=1)
    return result


app = ServiceResolver(router)
lambda_handler = api_handler(app)
