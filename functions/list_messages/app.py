"""GET /v1/messages: the company's templated messages, filtered and paginated."""

from typing import Annotated, Literal

from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Query
from scheduled_comms.composition.secrets import cursor_key
from scheduled_comms.composition.stores import communication_store
from scheduled_comms.http.resolver import ServiceResolver, api_handler, current_caller, refuse_unknown_query, requires
from scheduled_comms.logic.messages import list_messages
from scheduled_comms.models.messages import BrandId, ClientKey, MessageFilters, MessageList
from scheduled_comms.models.templates import MessageChannel, TemplateKey
from scheduled_comms.observability import logger, metrics

router = Router()
QUERY_PARAMETERS = {"person_id", "brand_id", "status", "channel", "template_key", "limit", "cursor"}


@router.get(
    "/v1/messages",
    operation_id="listMessages",
    summary="List templated messages",
    tags=["messages"],
    security=requires("messages:read"),
)
def list_route(
    person_id: Annotated[ClientKey | None, Query()] = None,
    brand_id: Annotated[BrandId | None, Query()] = None,
    status: Annotated[Literal["scheduled", "sending", "sent", "failed", "cancelled", "skipped"] | None, Query()] = None,
    channel: Annotated[MessageChannel | None, Query()] = None,
    template_key: Annotated[TemplateKey | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 25,
    cursor: Annotated[str | None, Query(min_length=1, max_length=512)] = None,
) -> MessageList:
    refuse_unknown_query(router, QUERY_PARAMETERS)
    caller = current_caller(router)
    logger.append_keys(company_id=caller.company_id)
    filters = MessageFilters(
        person_id=person_id, brand_id=brand_id, status=status, channel=channel, template_key=template_key
    )
    result = list_messages(communication_store(), caller, filters, limit, cursor, cursor_key())
    metrics.add_metric(name="MessagesListed", unit="Count", value=len(result.data))
    return result


app = ServiceResolver(router)
lambda_handler = api_handler(app)
