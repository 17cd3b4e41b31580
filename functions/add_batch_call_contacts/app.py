"""POST /v1/batch-calls/{id}/contacts: add contacts to a draft (a JSON array, or CSV with a header row)."""

from typing import Annotated, Any

from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Path, Query
from scheduled_comms.composition.campaigns import campaign_store
from scheduled_comms.http.campaigns import answer_once
from scheduled_comms.http.resolver import (
    CONTACT_UPLOADS,
    ServiceResolver,
    api_handler,
    content_type_of,
    requires,
)
from scheduled_comms.logic.campaigns.service import add_campaign_contacts
from scheduled_comms.models.campaign_api import ContactsAddedResponse
from scheduled_comms.models.campaigns import RegionCode
from scheduled_comms.models.values import Uuid
from scheduled_comms.observability import metrics

router = Router()


@router.post(
    "/v1/batch-calls/<id>/contacts",
    operation_id="addBatchCallContacts",
    summary="Add contacts to a draft batch call",
    description=(
        "The body is a JSON array of up to 1,000 contacts ({phone_number or to_number, name, contact_id, "
        "timezone, any other key a dynamic variable}) or, with Content-Type: text/csv, a header row naming "
        "phone_number (or to_number) and the same columns. A body with any bad line is refused whole (422), "
        "each bad line listed; so is a number the batch call already has."
    ),
    tags=["batch-calls"],
    security=requires("campaigns:write", "calls:initiate"),
    responses={201: {"description": "Added", "content": {"application/json": {"model": ContactsAddedResponse}}}},
)
def add_route(id: Annotated[Uuid, Path()], default_region: Annotated[RegionCode | None, Query()] = None) -> Any:
    event = router.current_event
    text, kind = event.decoded_body or "", content_type_of(event.raw_event)
    reply = answer_once(
        router,
        f"POST /v1/batch-calls/{id}/contacts",
        {"text": text, "type": kind, "default_region": default_region},
        201,
        lambda caller, now: add_campaign_contacts(campaign_store(), caller, id, text, kind, default_region, now),
        batch_call_id=id,
    )
    metrics.add_metric(name="BatchCallContactsAdded", unit="Count", value=1)
    return reply


app = ServiceResolver(router, bodies=CONTACT_UPLOADS)
lambda_handler = api_handler(app)
