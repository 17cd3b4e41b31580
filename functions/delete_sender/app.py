"""DELETE /v1/senders/{user_id}: remove a user's email sender."""

from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Path
from scheduled_comms.composition.company import directory
from scheduled_comms.http.resolver import ServiceResolver, api_handler, current_caller, requires
from scheduled_comms.logic.registry import delete_user_sender
from scheduled_comms.models.values import Uuid
from scheduled_comms.observability import logger, metrics

router = Router()


@router.delete(
    "/v1/senders/<user_id>",
    operation_id="deleteUserSender",
    summary="Remove a user's email sender",
    tags=["registry"],
    security=requires("dispatcher:write", "email:send"),
    responses={204: {"description": "Removed"}},
)
def delete_route(user_id: Annotated[Uuid, Path()]) -> Response[None]:
    caller = current_caller(router)
    logger.append_keys(company_id=caller.company_id)
    delete_user_sender(directory(), caller, user_id)
    metrics.add_metric(name="UserSendersRemoved", unit="Count", value=1)
    return Response(status_code=204, body=None)


app = ServiceResolver(router)
lambda_handler = api_handler(app)
