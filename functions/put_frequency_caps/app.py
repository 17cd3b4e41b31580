"""PUT /v1/settings/frequency-caps: replace the company's frequency caps (per address, channel and window)."""

from typing import Annotated

from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Body
from scheduled_comms.composition.company import directory
from scheduled_comms.http.resolver import ServiceResolver, api_handler, current_caller, requires
from scheduled_comms.logic.registry import put_frequency_caps
from scheduled_comms.models.domain import now_utc
from scheduled_comms.models.protection import FrequencyCaps, FrequencyCapsResponse
from scheduled_comms.observability import logger, metrics

router = Router()


@router.put(
    "/v1/settings/frequency-caps",
    operation_id="putFrequencyCaps",
    summary="Replace frequency caps",
    description=(
        "At most `limit` rows of a channel reach one address in any `window_hours` (a rolling window), one cap a "
        "channel. Checked at send: a row over its cap is held until a slot frees, or skipped if its "
        "`cancel_policy` expiry comes first. Rows marked `transactional` are neither counted nor held."
    ),
    tags=["settings"],
    security=requires("dispatcher:write"),
)
def put_route(caps: Annotated[FrequencyCaps, Body()]) -> FrequencyCapsResponse:
    caller = current_caller(router)
    logger.append_keys(company_id=caller.company_id)
    metrics.add_metric(name="FrequencyCapsReplaced", unit="Count", value=1)
    return put_frequency_caps(directory(), caller, caps, now_utc())


app = ServiceResolver(router)
lambda_handler = api_handler(app)
