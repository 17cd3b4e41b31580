"""GET /v1/scheduled-communications: the company's rows, filtered and paginated."""

from typing import Annotated

from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Query
from scheduled_comms.composition.company import directory
from scheduled_comms.composition.secrets import cursor_key
from scheduled_comms.composition.stores import communication_store, credit_ledger
from scheduled_comms.http.resolver import ServiceResolver, api_handler, current_caller, refuse_unknown_query, requires
from scheduled_comms.logic.communications import list_communications
from scheduled_comms.models.api import CommunicationListResponse
from scheduled_comms.models.domain import Channel, ListFilters, Status
from scheduled_comms.models.values import Uuid
from scheduled_comms.observability import logger, metrics

router = Router()
QUERY_PARAMETERS = {"status", "channel", "contact_id", "deal_id", "customer_id", "limit", "cursor"}


@router.get(
    "/v1/scheduled-communications",
    operation_id="listScheduledCommunications",
    summary="List scheduled communications",
    tags=["scheduled-communications"],
    security=requires("dispatcher:read"),
)
def list_route(
    status: Annotated[Status | None, Query()] = None,
    channel: Annotated[Channel | None, Query()] = None,
    contact_id: Annotated[Uuid | None, Query()] = None,
    deal_id: Annotated[Uuid | None, Query()] = None,
    customer_id: Annotated[Uuid | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 25,
    cursor: Annotated[str | None, Query(min_length=1, max_length=512)] = None,
) -> CommunicationListResponse:
    refuse_unknown_query(router, QUERY_PARAMETERS)
    caller = current_caller(router)
    logger.append_keys(company_id=caller.company_id)
    filters = ListFilters(
        status=status, channel=channel, contact_id=contact_id, deal_id=deal_id, customer_id=customer_id
    )
    result = list_communications(
        communication_store(), credit_ledger(), directory(), caller, filters, limit, cursor, cursor_key()
    )
    metrics.add_metric(name="CommunicationsListed", unit="Count", value=len(result.data))
    return result


app = ServiceResolver(router)
lambda_handler = api_handler(app)
