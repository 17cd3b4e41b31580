"""PUT /v1/settings/holidays: replace the company's holidays (closed local dates, in every zone or some)."""

from typing import Annotated

from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Body
from scheduled_comms.composition.company import directory
from scheduled_comms.http.resolver import ServiceResolver, api_handler, current_caller, requires
from scheduled_comms.logic.registry import put_holidays
from scheduled_comms.models.business_hours import Holidays, HolidaysResponse
from scheduled_comms.models.domain import now_utc
from scheduled_comms.observability import logger, metrics

router = Router()


@router.put(
    "/v1/settings/holidays",
    operation_id="putHolidays",
    summary="Replace holidays",
    description=(
        "Local dates the company is closed, each with an optional name and, for a company spanning zones, the "
        "zones it applies in. Rows that respect business hours are held to the next open day; batch calls "
        "planned from now on skip them."
    ),
    tags=["settings"],
    security=requires("dispatcher:write"),
)
def put_route(holidays: Annotated[Holidays, Body()]) -> HolidaysResponse:
    caller = current_caller(router)
    logger.append_keys(company_id=caller.company_id)
    metrics.add_metric(name="HolidaysReplaced", unit="Count", value=1)
    return put_holidays(directory(), caller, holidays, now_utc())


app = ServiceResolver(router)
lambda_handler = api_handler(app)
