"""POST /v1/scheduled-communications/{id}/dispatch-now: make a pending row due immediately."""

from typing import Annotated

from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Path
from scheduled_comms.composition.company import directory
from scheduled_comms.composition.stores import communication_store, credit_ledger
from scheduled_comms.http.resolver import ServiceResolver, api_handler, current_caller, requires_any
from scheduled_comms.logic.communications import dispatch_now
from scheduled_comms.models.api import CommunicationResponse
from scheduled_comms.models.domain import CHANNEL_SCOPES, now_utc
from scheduled_comms.models.values import Uuid
from scheduled_comms.observability import logger, metrics

router = Router()


@router.post(
    "/v1/scheduled-communications/<id>/dispatch-now",
    operation_id="dispatchScheduledCommunicationNow",
    summary="Dispatch a pending communication now",
    tags=["scheduled-communications"],
    security=requires_any(*[("dispatcher:write", scope) for scope in CHANNEL_SCOPES]),
)
def dispatch_now_route(id: Annotated[Uuid, Path()]) -> CommunicationResponse:
    caller = current_caller(router)
    logger.append_keys(company_id=caller.company_id, communication_id=id)
    result = dispatch_now(communication_store(), credit_ledger(), directory(), caller, id, now_utc())
    metrics.add_metric(name="CommunicationsFlushed", unit="Count", value=1)
    return result


app = ServiceResolver(router)
lambda_handler = api_handler(app)
