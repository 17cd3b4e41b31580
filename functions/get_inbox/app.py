"""GET /v1/people/{person_id}/inbox: a person's in-app inbox, newest first, with its counts and an ETag."""

from typing import Annotated, Any, cast

from aws_lambda_powertools.event_handler.api_gateway import Response, Router
from aws_lambda_powertools.event_handler.openapi.params import Path, Query
from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEvent
from scheduled_comms.composition.inbox import inbox_store
from scheduled_comms.composition.secrets import cursor_key
from scheduled_comms.http.resolver import (
    ServiceResolver,
    api_handler,
    current_caller,
    json_response,
    refuse_unknown_query,
    requires,
)
from scheduled_comms.logic.inbox import read_feed
from scheduled_comms.models.inbox import InboxFeed, InboxStatus
from scheduled_comms.models.messages import ClientKey
from scheduled_comms.observability import logger, metrics

router = Router()
QUERY_PARAMETERS = {"status", "limit", "cursor"}


@router.get(
    "/v1/people/<person_id>/inbox",
    operation_id="getInbox",
    summary="Read a person's in-app inbox",
    description="Newest first; without `status`, every entry but the archived ones. The answer's `ETag` sent back "
    "as `If-None-Match` gives a 304 with no body while nothing changed (polling is cheap). Readable with the "
    "company's key (scope in_app:read) or with the person's own token (POST .../inbox/token).",
    tags=["inbox"],
    security=requires("in_app:read"),
    responses={
        200: {"description": "The feed", "content": {"application/json": {"model": InboxFeed}}},
        304: {"description": "Nothing changed since the ETag sent as If-None-Match"},
    },
)
def feed_route(
    person_id: Annotated[ClientKey, Path()],
    status: Annotated[InboxStatus | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    cursor: Annotated[str | None, Query(min_length=1, max_length=1024)] = None,
) -> Any:
    refuse_unknown_query(router, QUERY_PARAMETERS)
    caller = current_caller(router)
    logger.append_keys(company_id=caller.company_id, person_token=caller.person_id is not None)
    if_none_match = cast(APIGatewayProxyEvent, router.current_event).headers.get("If-None-Match")
    answer = read_feed(inbox_store(), caller, person_id, status, limit, cursor, if_none_match, cursor_key())
    headers = {"ETag": answer.etag, "Cache-Control": "private, no-cache"}
    if answer.feed is None:
        metrics.add_metric(name="InboxNotModified", unit="Count", value=1)
        return Response(status_code=304, body=None, headers=headers)
    metrics.add_metric(name="InboxRead", unit="Count", value=1)
    return json_response(200, answer.feed.model_dump(mode="json"), headers)


app = ServiceResolver(router)
lambda_handler = api_handler(app)
