"""GET /v1/health: liveness, without authentication.

A plain handler rather than a resolver: there is nothing to validate, and a health check should start fast.
"""

from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext
from scheduled_comms.models.api import HealthResponse
from scheduled_comms.models.domain import now_utc
from scheduled_comms.observability import logger
from scheduled_comms.settings import get_settings

if TYPE_CHECKING:
    from aws_lambda_powertools.event_handler.api_gateway import Router


def health() -> HealthResponse:
    return HealthResponse(status="ok", version=get_settings().service_version, time=now_utc())


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST, clear_state=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return {
        "statusCode": 200,
        "headers": {"Content-Type": "application/json"},
        "body": health().model_dump_json(),
        "isBase64Encoded": False,
    }


def describe() -> "Router":
    """The route, for the OpenAPI document."""
    from aws_lambda_powertools.event_handler.api_gateway import Router

    router = Router()
    router.get("/v1/health", operation_id="getHealth", summary="Liveness check", tags=["health"])(health)
    return router
