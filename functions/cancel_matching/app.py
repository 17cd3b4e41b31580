"""POST /v1/scheduled-communications/cancel: cancel every pending row of a contact, deal, customer, address or
cancellation key."""

from typing import Annotated

from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Body
from scheduled_comms.composition.secrets import cursor_key
from scheduled_comms.composition.stores import communication_store
from scheduled_comms.http.resolver import ServiceResolver, api_handler, current_caller, requires
from scheduled_comms.logic.communications import cancel_matching
from scheduled_comms.models.api import CancelMatchingRequest, CancelMatchingResponse
from scheduled_comms.models.domain import now_utc
from scheduled_comms.observability import logger, metrics

router = Router()


@router.post(
    "/v1/scheduled-communications/cancel",
    operation_id="cancelMatchingCommunications",
    summary="Cancel every pending communication of a contact, deal, customer, address or key",
    description=(
        "Give exactly one of `contact_id`, `deal_id`, `customer_id`, `to_number`, `to_email` or "
        "`cancellation_key`: every pending row it names is cancelled, whatever its channel (rows, templated "
        "messages, cadence follow-ups, a batch call's calls: their contacts end cancelled). Up to 200 rows are read "
        "a request; when `next_cursor` is not null, send the same body with it to go on."
    ),
    tags=["scheduled-communications"],
    security=requires("dispatcher:write"),
)
def cancel_route(request: Annotated[CancelMatchingRequest, Body()]) -> CancelMatchingResponse:
    caller = current_caller(router)
    logger.append_keys(company_id=caller.company_id)
    result = cancel_matching(communication_store(), caller, request, now_utc(), cursor_key())
    metrics.add_metric(name="CommunicationsCancelledByMatch", unit="Count", value=result.data.cancelled)
    return result


app = ServiceResolver(router)
lambda_handler = api_handler(app)
