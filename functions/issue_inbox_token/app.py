"""POST /v1/people/{person_id}/inbox/token: a token for a browser or app that reads and marks this person's
inbox only (an HMAC of the person_id under the company's inbox secret)."""

from typing import Annotated

from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Path
from scheduled_comms.composition.secrets import inbox_secret
from scheduled_comms.http.resolver import ServiceResolver, api_handler, current_caller, requires
from scheduled_comms.logic.inbox import issue_person_token
from scheduled_comms.models.inbox import PersonTokenOut
from scheduled_comms.models.messages import ClientKey
from scheduled_comms.observability import logger, metrics

router = Router()


@router.post(
    "/v1/people/<person_id>/inbox/token",
    operation_id="issueInboxToken",
    summary="Issue a person's inbox token",
    tags=["inbox"],
    security=requires("in_app:read"),
)
def token_route(person_id: Annotated[ClientKey, Path()]) -> PersonTokenOut:
    caller = current_caller(router)
    logger.append_keys(company_id=caller.company_id)
    token = issue_person_token(caller, person_id, inbox_secret())
    metrics.add_metric(name="InboxTokensIssued", unit="Count", value=1)
    return token


app = ServiceResolver(router)
lambda_handler = api_handler(app)
