"""GET /v1/batch-calls/{id}/contacts: a batch call's contacts in the order they were added."""

from typing import Annotated

from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Path, Query
from scheduled_comms.composition.campaigns import campaign_store
from scheduled_comms.composition.secrets import cursor_key
from scheduled_comms.http.resolver import (
    ServiceResolver,
    api_handler,
    current_caller,
    refuse_unknown_query,
    requires,
)
from scheduled_comms.logic.campaigns.service import list_campaign_contacts
from scheduled_comms.models.campaign_api import ContactListResponse
from scheduled_comms.models.campaigns import ContactStatus
from scheduled_comms.models.values import Uuid
from scheduled_comms.observability import logger, metrics

router = Router()
QUERY_PARAMETERS = {"status", "limit", "cursor", "offset"}


@router.get(
    "/v1/batch-calls/<id>/contacts",
    operation_id="listBatchCallContacts",
    summary="List a batch call's contacts",
    tags=["batch-calls"],
    security=requires("campaigns:read"),
)
def list_route(
    id: Annotated[Uuid, Path()],
    status: Annotated[ContactStatus | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 25,
    cursor: Annotated[str | None, Query(min_length=1, max_length=512)] = None,
    offset: Annotated[
        int | None, Query(ge=0, le=0, description="Accepted as 0 only (the first page); pages go on by cursor")
    ] = None,
) -> ContactListResponse:
    refuse_unknown_query(router, QUERY_PARAMETERS)
    caller = current_caller(router)
    logger.append_keys(company_id=caller.company_id, batch_call_id=id)
    result = list_campaign_contacts(campaign_store(), caller, id, status, limit, cursor, cursor_key())
    metrics.add_metric(name="BatchCallContactsListed", unit="Count", value=len(result.data))
    return result


app = ServiceResolver(router)
lambda_handler = api_handler(app)
