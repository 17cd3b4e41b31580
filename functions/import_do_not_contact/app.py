"""POST /v1/do-not-contact/import: add many entries (JSON or CSV), all or none."""

from aws_lambda_powertools.event_handler.api_gateway import Router
from scheduled_comms.composition.protection import do_not_contact_list
from scheduled_comms.http.resolver import (
    CONTACT_UPLOADS,
    ServiceResolver,
    api_handler,
    content_type_of,
    current_caller,
    json_response,
    requires,
)
from scheduled_comms.logic.protection import import_entries
from scheduled_comms.models.domain import now_utc
from scheduled_comms.models.protection import DoNotContactImportResponse
from scheduled_comms.observability import logger, metrics

router = Router()


@router.post(
    "/v1/do-not-contact/import",
    operation_id="importDoNotContact",
    summary="Import do-not-contact entries from CSV",
    description=(
        'Up to 1,000 entries: `{"entries": [{channel, address, reason, expires_at}]}`, or the same as a '
        "`text/csv` body whose header row names `channel` and `address`, optionally `reason` and `expires_at`. "
        "A body with any bad entry is refused whole (422), each bad entry named (`entries[3].address`, or "
        "`line 4.address`); otherwise every entry is written (an entry already there is replaced)."
    ),
    tags=["do-not-contact"],
    security=requires("do_not_contact:write"),
    responses={
        201: {"description": "Imported", "content": {"application/json": {"model": DoNotContactImportResponse}}}
    },
)
def import_route() -> object:
    caller = current_caller(router)
    logger.append_keys(company_id=caller.company_id)
    event = router.current_event
    body, kind = event.decoded_body or "", content_type_of(event.raw_event)
    imported = import_entries(do_not_contact_list(), caller, body, kind, now_utc())
    metrics.add_metric(name="DoNotContactImported", unit="Count", value=imported.imported)
    return json_response(201, DoNotContactImportResponse(data=imported).model_dump(mode="json"))


app = ServiceResolver(router, bodies=CONTACT_UPLOADS)
lambda_handler = api_handler(app)
