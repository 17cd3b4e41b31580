"""POST /v1/contact-folders: a folder of contacts batch calls can call."""

from datetime import timedelta
from typing import Annotated, Any

from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Body
from scheduled_comms.composition.campaigns import campaign_store, idempotency_store
from scheduled_comms.http.resolver import (
    CONTACT_UPLOADS,
    ServiceResolver,
    api_handler,
    current_caller,
    json_response,
    requires,
)
from scheduled_comms.logic.campaigns.service import create_folder, post_once
from scheduled_comms.models.campaign_api import CreateFolderRequest, FolderResponse
from scheduled_comms.models.domain import now_utc
from scheduled_comms.observability import logger, metrics
from scheduled_comms.settings import get_settings

router = Router()


@router.post(
    "/v1/contact-folders",
    operation_id="createContactFolder",
    summary="Create a contact folder",
    tags=["contact-folders"],
    security=requires("campaigns:write", "calls:initiate"),
    responses={201: {"description": "Created", "content": {"application/json": {"model": FolderResponse}}}},
)
def create_route(request: Annotated[CreateFolderRequest, Body()]) -> Any:
    caller = current_caller(router)
    logger.append_keys(company_id=caller.company_id)
    now = now_utc()
    status, body = post_once(
        idempotency_store(),
        caller,
        router.current_event.headers,
        "POST /v1/contact-folders",
        router.current_event.json_body,
        now,
        timedelta(seconds=get_settings().idempotency_ttl_seconds),
        201,
        lambda: create_folder(campaign_store(), caller, request, now),
    )
    metrics.add_metric(name="ContactFoldersCreated", unit="Count", value=1)
    return json_response(status, body)


app = ServiceResolver(router, bodies=CONTACT_UPLOADS)
lambda_handler = api_handler(app)
