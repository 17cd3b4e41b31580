"""GET /v1/senders/{user_id}: the address and name a user's emails go out from."""

from typing import Annotated

from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Path
from scheduled_comms.composition.company import directory
from scheduled_comms.http.resolver import ServiceResolver, api_handler, current_caller, requires
from scheduled_comms.logic.registry import get_user_sender
from scheduled_comms.models.registry import UserSenderResponse
from scheduled_comms.models.values import Uuid
from scheduled_comms.observability import logger, metrics

router = Router()


@router.get(
    "/v1/senders/<user_id>",
    operation_id="getUserSender",
    summary="Get a user's email sender",
    tags=["registry"],
    security=requires("dispatcher:read"),
)
def get_route(user_id: Annotated[Uuid, Path()]) -> UserSenderResponse:
    caller = current_caller(router)
    logger.append_keys(company_id=caller.company_id)
    sender = get_user_sender(directory(), caller, user_id)
    metrics.add_metric(name="UserSendersRead", unit="Count", value=1)
    return UserSenderResponse(data=sender)


app = ServiceResolver(router)
lambda_handler = api_handler(app)
