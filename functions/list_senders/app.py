"""GET /v1/senders: the company's users' email senders."""

from aws_lambda_powertools.event_handler.api_gateway import Router
from scheduled_comms.composition.company import directory
from scheduled_comms.http.resolver import ServiceResolver, api_handler, current_caller, requires
from scheduled_comms.logic.registry import list_user_senders
from scheduled_comms.models.registry import UserSenderList
from scheduled_comms.observability import logger, metrics

router = Router()


@router.get(
    "/v1/senders",
    operation_id="listUserSenders",
    summary="List users' email senders",
    tags=["registry"],
    security=requires("dispatcher:read"),
)
def list_route() -> UserSenderList:
    caller = current_caller(router)
    logger.append_keys(company_id=caller.company_id)
    senders = list_user_senders(directory(), caller)
    metrics.add_metric(name="UserSendersListed", unit="Count", value=1)
    return UserSenderList(data=senders)


app = ServiceResolver(router)
lambda_handler = api_handler(app)
