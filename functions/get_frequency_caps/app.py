"""GET /v1/settings/frequency-caps: the company's frequency caps."""

from aws_lambda_powertools.event_handler.api_gateway import Router
from scheduled_comms.composition.company import directory
from scheduled_comms.http.resolver import ServiceResolver, api_handler, current_caller, requires
from scheduled_comms.logic.registry import get_frequency_caps
from scheduled_comms.models.protection import FrequencyCapsResponse
from scheduled_comms.observability import logger

router = Router()


@router.get(
    "/v1/settings/frequency-caps",
    operation_id="getFrequencyCaps",
    summary="Get frequency caps",
    tags=["settings"],
    security=requires("dispatcher:read"),
)
def get_route() -> FrequencyCapsResponse:
    caller = current_caller(router)
    logger.append_keys(company_id=caller.company_id)
    return get_frequency_caps(directory(), caller)


app = ServiceResolver(router)
lambda_handler = api_handler(app)
