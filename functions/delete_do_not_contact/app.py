"""DELETE /v1/do-not-contact/{channel}/{address}: let an address be reached on a channel again."""

from typing import Annotated
from urllib.parse import unquote

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Path
from scheduled_comms.composition.protection import do_not_contact_list
from scheduled_comms.http.resolver import ServiceResolver, api_handler, current_caller, requires
from scheduled_comms.logic.protection import remove_entry
from scheduled_comms.models.protection import SuppressedChannel
from scheduled_comms.observability import logger, metrics

router = Router()


@router.delete(
    "/v1/do-not-contact/<channel>/<address>",
    operation_id="deleteDoNotContact",
    summary="Remove an address from the do-not-contact list",
    tags=["do-not-contact"],
    security=requires("do_not_contact:write"),
    responses={204: {"description": "Removed: rows due from now on reach the address again"}},
)
def delete_route(
    channel: Annotated[SuppressedChannel, Path()],
    address: Annotated[str, Path(min_length=3, max_length=400)],
) -> Response[None]:
    caller = current_caller(router)
    logger.append_keys(company_id=caller.company_id, channel=channel.value)
    remove_entry(do_not_contact_list(), caller, channel, unquote(address))
    metrics.add_metric(name="DoNotContactDeleted", unit="Count", value=1)
    return Response(status_code=204, body=None)


app = ServiceResolver(router)
lambda_handler = api_handler(app)
