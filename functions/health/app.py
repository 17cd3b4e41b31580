"""GET /v1/health: liveness, without authentication."""

from scheduled_comms.http import Router, ServiceResolver, api_handler
from scheduled_comms.models.api import HealthResponse
from scheduled_comms.models.domain import now_utc
from scheduled_comms.settings import get_settings

router = Router()


@router.get("/v1/health", operation_id="getHealth", summary="Liveness check", tags=["health"])
def health() -> HealthResponse:
    return HealthResponse(status="ok", version=get_settings().service_version, time=now_utc())


app = ServiceResolver(router)
lambda_handler = api_handler(app)
