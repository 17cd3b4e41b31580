"""GET /v1/do-not-contact: the company's do-not-contact list, in address order."""

from typing import Annotated

from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Query
from scheduled_comms.composition.protection import do_not_contact_list
from scheduled_comms.composition.secrets import cursor_key
from scheduled_comms.http.resolver import ServiceResolver, api_handler, current_caller, refuse_unknown_query, requires
from scheduled_comms.logic.protection import list_entries
from scheduled_comms.models.protection import DoNotContactList
from scheduled_comms.observability import logger, metrics

router = Router()
QUERY_PARAMETERS = {"limit", "cursor"}


@router.get(
    "/v1/do-not-contact",
    operation_id="listDoNotContact",
    summary="List the do-not-contact list",
    tags=["do-not-contact"],
    security=requires("do_not_contact:read"),
)
def list_route(
    limit: Annotated[int, Query(ge=1, le=100)] = 25,
    cursor: Annotated[str | None, Query(min_length=1, max_length=1024)] = None,
) -> DoNotContactList:
    refuse_unknown_query(router, QUERY_PARAMETERS)
    caller = current_caller(router)
    logger.append_keys(company_id=caller.company_id)
    result = list_entries(do_not_contact_list(), caller, limit, cursor, cursor_key())
    metrics.add_metric(name="DoNotContactListed", unit="Count", value=len(result.data))
    return result


app = ServiceResolver(router)
lambda_handler = api_handler(app)
