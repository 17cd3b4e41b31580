"""POST /v1/contact-folders: a folder of contacts batch calls can call."""

from typing import Annotated, Any

from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Body
from scheduled_comms.composition.campaigns import campaign_store
from scheduled_comms.http.campaigns import answer_once
from scheduled_comms.http.resolver import (
    CONTACT_UPLOADS,
    ServiceResolver,
    api_handler,
    requires,
)
from scheduled_comms.logic.campaigns.service import create_folder
from scheduled_comms.models.campaign_api import CreateFolderRequest, FolderResponse
from scheduled_comms.observability import metrics

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
    reply = answer_once(
        router,
        "POST /v1/contact-folders",
        router.current_event.json_body,
        201,
        lambda caller, now: create_folder(campaign_store(), caller, request, now),
    )
    metrics.add_metric(name="ContactFoldersCreated", unit="Count", value=1)
    return reply


app = ServiceResolver(router, bodies=CONTACT_UPLOADS)
lambda_handler = api_handler(app)
