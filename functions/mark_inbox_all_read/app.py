"""POST /v1/people/{person_id}/inbox/read-all: mark every unread entry of the person's inbox read."""

from typing import Annotated

from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Path
from scheduled_comms.composition.inbox import inbox_store
from scheduled_comms.http.resolver import ServiceResolver, api_handler, current_caller, requires
from scheduled_comms.logic.inbox import mark_all_read
from scheduled_comms.models.domain import now_utc
from scheduled_comms.models.inbox import MarkAllReadResult
from scheduled_comms.models.messages import ClientKey
from scheduled_comms.observability import logger, metrics

router = Router()


@router.post(
    "/v1/people/<person_id>/inbox/read-all",
    operation_id="markInboxAllRead",
    summary="Mark every unread inbox entry read",
    description="Up to 500 entries a call: call again while `marked` is 500.",
    tags=["inbox"],
    security=requires("in_app:write"),
)
def read_all_route(person_id: Annotated[ClientKey, Path()]) -> MarkAllReadResult:
    caller = current_caller(router)
    logger.append_keys(company_id=caller.company_id)
    result = mark_all_read(inbox_store(), caller, person_id, now_utc())
    metrics.add_metric(name="InboxMarkedRead", unit="Count", value=result.marked)
    return result


app = ServiceResolver(router)
lambda_handler = api_handler(app)
