"""POST /v1/phone-numbers: register a sender number for SMS."""

from typing import Annotated, Any

from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Body
from scheduled_comms.composition.company import directory
from scheduled_comms.http.resolver import ServiceResolver, api_handler, current_caller, json_response, requires
from scheduled_comms.logic.registry import register_phone_number
from scheduled_comms.models.domain import now_utc
from scheduled_comms.models.registry import PhoneNumberCreate, PhoneNumberResponse
from scheduled_comms.observability import logger, metrics

router = Router()


@router.post(
    "/v1/phone-numbers",
    operation_id="registerPhoneNumber",
    summary="Register a sender number",
    tags=["registry"],
    security=requires("dispatcher:write", "sms:send"),
    responses={201: {"description": "Registered", "content": {"application/json": {"model": PhoneNumberResponse}}}},
)
def register_route(request: Annotated[PhoneNumberCreate, Body()]) -> Any:
    caller = current_caller(router)
    logger.append_keys(company_id=caller.company_id)
    number = register_phone_number(directory(), caller, request, now_utc())
    metrics.add_metric(name="PhoneNumbersRegistered", unit="Count", value=1)
    return json_response(201, {"data": number.model_dump(mode="json")})


app = ServiceResolver(router)
lambda_handler = api_handler(app)
