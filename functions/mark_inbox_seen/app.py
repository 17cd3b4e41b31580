"""POST /v1/people/{person_id}/inbox/{message_id}/seen: mark an inbox entry seen.

Marking twice is marking once."""

from typing import Annotated

from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Path
from scheduled_comms.composition.inbox import inbox_store
from scheduled_comms.http.resolver import ServiceResolver, api_handler, current_caller, requires
from scheduled_comms.logic.inbox import mark_entry
from scheduled_comms.models.domain import now_utc
from scheduled_comms.models.inbox import InboxEntryOut, InboxMark
from scheduled_comms.models.messages import ClientKey
from scheduled_comms.models.values import Uuid
from scheduled_comms.observability import logger, metrics

router = Router()


@router.post(
    "/v1/people/<person_id>/inbox/<message_id>/seen",
    operation_id="markInboxEntrySeen",
    summary="Mark an inbox entry seen",
    tags=["inbox"],
    security=requires("in_app:write"),
)
def mark_route(person_id: Annotated[ClientKey, Path()], message_id: Annotated[Uuid, Path()]) -> InboxEntryOut:
    caller = current_caller(router)
    logger.append_keys(company_id=caller.company_id, message_id=message_id)
    entry = mark_entry(inbox_store(), caller, person_id, message_id, InboxMark.SEEN, now_utc())
    metrics.add_metric(name="InboxSeen", unit="Count", value=1)
    return entry


app = ServiceResolver(router)
lambda_handler = api_handler(app)
