"""DELETE /v1/scheduled-communications/{id}: soft-cancel a pending row."""

from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Path
from scheduled_comms.composition.stores import communication_store
from scheduled_comms.http.resolver import ServiceResolver, api_handler, current_caller, requires
from scheduled_comms.logic.communications import cancel_communication
from scheduled_comms.models.domain import now_utc
from scheduled_comms.models.values import Uuid
from scheduled_comms.observability import logger, metrics

router = Router()


@router.delete(
    "/v1/scheduled-communications/<id>",
    operation_id="cancelScheduledCommunication",
    summary="Cancel a pending communication",
    tags=["scheduled-communications"],
    security=requires("dispatcher:write"),
    responses={204: {"description": "Cancelled; the row is kept with cancelled_at"}},
)
def cancel_route(id: Annotated[Uuid, Path()]) -> Response[None]:
    caller = current_caller(router)
    logger.append_keys(company_id=caller.company_id, communication_id=id)
    cancel_communication(communication_store(), caller, id, now_utc())
    metrics.add_metric(name="CommunicationsCancelled", unit="Count", value=1)
    return Response(status_code=204, body=None)


app = ServiceResolver(router)
lambda_handler = api_handler(app)
