"""GET /v1/scheduled-communications/{id}: one row with its dispatch result."""

from typing import Annotated

from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Path
from scheduled_comms.composition.company import directory
from scheduled_comms.composition.stores import communication_store, credit_ledger
from scheduled_comms.http.resolver import ServiceResolver, api_handler, current_caller, requires
from scheduled_comms.logic.communications import get_communication
from scheduled_comms.models.api import CommunicationResponse
from scheduled_comms.models.values import Uuid
from scheduled_comms.observability import logger, metrics

router = Router()


@router.get(
    "/v1/scheduled-communications/<id>",
    operation_id="getScheduledCommunication",
    summary="Get a scheduled communication",
    tags=["scheduled-communications"],
    security=requires("dispatcher:read"),
)
def get_route(id: Annotated[Uuid, Path()]) -> CommunicationResponse:
    caller = current_caller(router)
    logger.append_keys(company_id=caller.company_id, communication_id=id)
    result = get_communication(communication_store(), credit_ledger(), directory(), caller, id)
    metrics.add_metric(name="CommunicationsRead", unit="Count", value=1)
    return result


app = ServiceResolver(router)
lambda_handler = api_handler(app)
