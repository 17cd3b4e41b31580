"""PUT /v1/settings/business-hours: replace the company's default zone and weekly windows."""

from typing import Annotated

from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Body
from scheduled_comms.composition.company import directory
from scheduled_comms.http.resolver import ServiceResolver, api_handler, current_caller, requires
from scheduled_comms.logic.registry import put_business_hours
from scheduled_comms.models.business_hours import BusinessHours, BusinessHoursResponse
from scheduled_comms.models.domain import now_utc
from scheduled_comms.observability import logger, metrics

router = Router()


@router.put(
    "/v1/settings/business-hours",
    operation_id="putBusinessHours",
    summary="Replace business hours",
    tags=["settings"],
    security=requires("dispatcher:write"),
)
def put_route(hours: Annotated[BusinessHours, Body()]) -> BusinessHoursResponse:
    caller = current_caller(router)
    logger.append_keys(company_id=caller.company_id)
    metrics.add_metric(name="BusinessHoursReplaced", unit="Count", value=1)
    return put_business_hours(directory(), caller, hours, now_utc())


app = ServiceResolver(router)
lambda_handler = api_handler(app)
