"""GET /v1/settings/holidays: the company's holidays."""

from aws_lambda_powertools.event_handler.api_gateway import Router
from scheduled_comms.composition.company import directory
from scheduled_comms.http.resolver import ServiceResolver, api_handler, current_caller, requires
from scheduled_comms.logic.registry import get_holidays
from scheduled_comms.models.business_hours import HolidaysResponse
from scheduled_comms.observability import logger

router = Router()


@router.get(
    "/v1/settings/holidays",
    operation_id="getHolidays",
    summary="Get holidays",
    tags=["settings"],
    security=requires("dispatcher:read"),
)
def get_route() -> HolidaysResponse:
    caller = current_caller(router)
    logger.append_keys(company_id=caller.company_id)
    return get_holidays(directory(), caller)


app = ServiceResolver(router)
lambda_handler = api_handler(app)
