"""GET /v1/settings/business-hours: the company's default zone and weekly windows."""

from aws_lambda_powertools.event_handler.api_gateway import Router
from scheduled_comms.composition.company import directory
from scheduled_comms.http.resolver import ServiceResolver, api_handler, current_caller, requires
from scheduled_comms.logic.registry import get_business_hours
from scheduled_comms.models.business_hours import BusinessHoursResponse
from scheduled_comms.observability import logger, metrics

router = Router()


@router.get(
    "/v1/settings/business-hours",
    operation_id="getBusinessHours",
    summary="Read business hours",
    tags=["settings"],
    security=requires("dispatcher:read"),
)
def get_route() -> BusinessHoursResponse:
    caller = current_caller(router)
    logger.append_keys(company_id=caller.company_id)
    metrics.add_metric(name="BusinessHoursRead", unit="Count", value=1)
    return get_business_hours(directory(), caller)


app = ServiceResolver(router)
lambda_handler = api_handler(app)
