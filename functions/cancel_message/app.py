"""DELETE /v1/messages/{message_id}: cancel a message that is still scheduled."""

from typing import Annotated

from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Path
from scheduled_comms.composition.stores import communication_store
from scheduled_comms.http.resolver import ServiceResolver, api_handler, current_caller, requires
from scheduled_comms.logic.messages import cancel_message
from scheduled_comms.models.domain import now_utc
from scheduled_comms.models.messages import MessageOut
from scheduled_comms.models.values import Uuid
from scheduled_comms.observability import logger, metrics

router = Router()


@router.delete(
    "/v1/messages/<message_id>",
    operation_id="cancelMessage",
    summary="Cancel a scheduled message",
    tags=["messages"],
    security=requires("messages:write"),
)
def cancel_route(message_id: Annotated[Uuid, Path()]) -> MessageOut:
    caller = current_caller(router)
    logger.append_keys(company_id=caller.company_id, message_id=message_id)
    message = cancel_message(communication_store(), caller, message_id, now_utc())
    metrics.add_metric(name="MessagesCancelled", unit="Count", value=1)
    return message


app = ServiceResolver(router)
lambda_handler = api_handler(app)
