"""PUT /v1/do-not-contact/{channel}/{address}: keep an address from a channel (or from every channel)."""

from typing import Annotated
from urllib.parse import unquote

from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Body, Path
from scheduled_comms.composition.protection import do_not_contact_list
from scheduled_comms.http.resolver import ServiceResolver, api_handler, current_caller, requires
from scheduled_comms.logic.protection import put_entry
from scheduled_comms.models.domain import now_utc
from scheduled_comms.models.protection import DoNotContactPut, DoNotContactResponse, SuppressedChannel
from scheduled_comms.observability import logger, metrics

router = Router()


@router.put(
    "/v1/do-not-contact/<channel>/<address>",
    operation_id="putDoNotContact",
    summary="Add an address to the do-not-contact list",
    description=(
        "The address is an email address or an E.164 number (percent-encoded in the path, `+` as `%2B`). From "
        "then on every row that would reach it on the channel (`all`: on any channel) ends `skipped` with "
        "`skip_reason: do_not_contact` when its time comes, its credit returned, nothing sent. Putting an "
        "entry again replaces it."
    ),
    tags=["do-not-contact"],
    security=requires("do_not_contact:write"),
)
def put_route(
    channel: Annotated[SuppressedChannel, Path()],
    address: Annotated[str, Path(min_length=3, max_length=400)],
    request: Annotated[DoNotContactPut, Body()],
) -> DoNotContactResponse:
    caller = current_caller(router)
    logger.append_keys(company_id=caller.company_id, channel=channel.value)
    entry = put_entry(do_not_contact_list(), caller, channel, unquote(address), request, now_utc())
    metrics.add_metric(name="DoNotContactPut", unit="Count", value=1)
    return DoNotContactResponse(data=entry)


app = ServiceResolver(router)
lambda_handler = api_handler(app)
