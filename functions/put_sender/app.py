"""PUT /v1/senders/{user_id}: set the address and name a user's emails go out from."""

from typing import Annotated

from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Body, Path
from scheduled_comms.composition.company import directory
from scheduled_comms.http.resolver import ServiceResolver, api_handler, current_caller, requires
from scheduled_comms.logic.registry import put_user_sender
from scheduled_comms.models.domain import now_utc
from scheduled_comms.models.registry import UserSenderPut, UserSenderResponse
from scheduled_comms.models.values import Uuid
from scheduled_comms.observability import logger, metrics

router = Router()


@router.put(
    "/v1/senders/<user_id>",
    operation_id="putUserSender",
    summary="Set a user's email sender",
    tags=["registry"],
    security=requires("dispatcher:write", "email:send"),
)
def put_route(user_id: Annotated[Uuid, Path()], request: Annotated[UserSenderPut, Body()]) -> UserSenderResponse:
    caller = current_caller(router)
    logger.append_keys(company_id=caller.company_id)
    sender = put_user_sender(directory(), caller, user_id, request, now_utc())
    metrics.add_metric(name="UserSendersSet", unit="Count", value=1)
    return UserSenderResponse(data=sender)


app = ServiceResolver(router)
lambda_handler = api_handler(app)
