"""Lambda REQUEST authorizer: turns ``Authorization: Bearer <key>`` into a company and its scopes, or a person's
inbox token (``spt_...``) into that person, who may reach only their own inbox."""

from typing import Any

from aws_lambda_powertools.utilities.data_classes import event_source
from aws_lambda_powertools.utilities.data_classes.api_gateway_authorizer_event import (
    APIGatewayAuthorizerRequestEvent,
    APIGatewayAuthorizerResponse,
)
from aws_lambda_powertools.utilities.typing import LambdaContext
from scheduled_comms.composition.stores import api_key_store
from scheduled_comms.errors import Unauthorized
from scheduled_comms.logic.auth import authenticate, authenticate_person, is_person_token
from scheduled_comms.models.domain import Caller
from scheduled_comms.observability import discard_unpublished_metrics, logger, metrics


def _caller(authorization: str | None) -> Caller:
    if is_person_token(authorization):
        from scheduled_comms.composition.secrets import inbox_secret  # only person tokens need the secret

        return authenticate_person(authorization, inbox_secret())
    return authenticate(api_key_store(), authorization)


@logger.inject_lambda_context(clear_state=True)
@discard_unpublished_metrics
@metrics.log_metrics
@event_source(data_class=APIGatewayAuthorizerRequestEvent)
def lambda_handler(event: APIGatewayAuthorizerRequestEvent, context: LambdaContext) -> dict[str, Any]:
    try:
        caller = _caller(event.headers.get("Authorization"))
    except Unauthorized as exc:
        logger.info("authentication refused", extra={"reason": exc.message})
        metrics.add_metric(name="AuthRefused", unit="Count", value=1)
        raise Exception("Unauthorized") from None  # API Gateway answers 401 for exactly this message
    arn = event.parsed_arn
    authorized = {"company_id": caller.company_id, "scopes": ",".join(sorted(caller.scopes)), "key_id": caller.key_id}
    if caller.person_id is not None:
        authorized["person_id"] = caller.person_id
    policy = APIGatewayAuthorizerResponse(
        principal_id=caller.key_id,
        region=arn.region,
        aws_account_id=arn.aws_account_id,
        api_id=arn.api_id,
        stage=arn.stage,
        context=authorized,
    )
    # The decision is cached per key, so it must cover every route of the API.
    policy.allow_all_routes()
    return policy.asdict()
