"""GET /v1/phone-numbers: the company's sender numbers."""

from aws_lambda_powertools.event_handler.api_gateway import Router
from scheduled_comms.composition.company import directory
from scheduled_comms.http.resolver import ServiceResolver, api_handler, current_caller, requires
from scheduled_comms.logic.registry import list_phone_numbers
from scheduled_comms.models.registry import PhoneNumberList
from scheduled_comms.observability import logger, metrics

router = Router()


@router.get(
    "/v1/phone-numbers",
    operation_id="listPhoneNumbers",
    summary="List sender numbers",
    tags=["registry"],
    security=requires("dispatcher:read"),
)
def list_route() -> PhoneNumberList:
    caller = current_caller(router)
    logger.append_keys(company_id=caller.company_id)
    numbers = list_phone_numbers(directory(), caller)
    metrics.add_metric(name="PhoneNumbersListed", unit="Count", value=1)
    return PhoneNumberList(data=numbers)


app = ServiceResolver(router)
lambda_handler = api_handler(app)
